package dev.kiln.doctor;

import dev.kiln.host.CommandRunner;
import dev.kiln.host.HostFacts;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.vmm.VmmIdentities;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Looks at a host the way the daemon will use it and reports each thing it needs: the accelerator,
 * QEMU and its machines, the guest kernel, cgroups, the network tools, the data directory, and the
 * uids VMs run as. It reads and runs version queries only; it changes nothing.
 *
 * @param root where the host's files are read from: "/" for this host, a directory of fakes for none
 * @param guestArtifacts the daemon's guest artifacts directory (read as it is, not under root)
 */
public record HostDoctor(Path root, Path dataDir, String qemuBinary, String vmmUids, String vmmGroup, Path guestArtifacts) {
  private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(10);
  private static final long LOW_FREE_BYTES = 10L << 30;

  public List<Finding> examine() {
    List<Finding> out = new ArrayList<>();
    out.add(user());
    out.add(accelerator());
    out.addAll(qemu());
    out.add(guestKernel());
    out.add(cgroups());
    out.addAll(tools());
    out.add(tun());
    out.add(linkProtection());
    out.addAll(dataDirectory());
    out.addAll(uids());
    return out;
  }

  private Path host(String absolute) {
    return root.resolve(absolute.substring(1));
  }

  Finding user() {
    return "root".equals(System.getProperty("user.name"))
        ? Finding.ok("privileges", "running as root")
        : Finding.warn("privileges", "running as " + System.getProperty("user.name") + ": VMs would run as this user, with no namespaces and no limits",
            "run the daemon (and this check) as root, as the systemd units do");
  }

  Finding accelerator() {
    HostFacts.KvmModule module = HostFacts.kvmModule(host("/sys/module"));
    boolean writable = Files.isWritable(host("/dev/kvm"));
    return switch (module) {
      case INTEL, AMD -> writable ? Finding.ok("accelerator", "KVM (" + module.name().toLowerCase() + ")")
          : Finding.warn("accelerator", "kvm_" + module.name().toLowerCase() + " is loaded but /dev/kvm is not writable: VMs run under TCG, several times slower",
              "give the daemon's user read-write on /dev/kvm (the kvm group), or run it as root");
      case PVM -> Finding.warn("accelerator", "/dev/kvm is KVM-PVM, which hangs standard guests: VMs run under TCG emulation, several times slower",
          "run on a host (or VM with nested virtualization) that has kvm_intel or kvm_amd");
      case NONE -> Finding.warn("accelerator", "no kvm_intel or kvm_amd module: VMs run under TCG emulation, several times slower",
          "load kvm_intel or kvm_amd (modprobe), or enable nested virtualization for this VM");
    };
  }

  Finding guestKernel() {
    GuestArtifacts g;
    try {
      g = GuestArtifacts.load(guestArtifacts);
    } catch (IOException e) {
      return Finding.fail("guest kernel", e.getMessage(), "scripts/build-guest.sh build/guest (scripts/install.sh does), or set guestArtifacts in the config");
    }
    String rebuild = "scripts/build-guest.sh --kernel kiln build/guest (it prints why the build failed)";
    return switch (g.kernelFlavor()) {
      case "kiln" -> Finding.ok("guest kernel", "Kiln's, " + g.kernelSource());
      case "debian" -> Finding.warn("guest kernel", "Debian's cloud kernel (" + g.kernelSource() + "): boots slower and costs more idle CPU than Kiln's", rebuild);
      default -> Finding.warn("guest kernel", "artifacts " + g.id() + " do not say which kernel they hold (assembled by an older build-guest.sh)", rebuild);
    };
  }

  List<Finding> qemu() {
    List<Finding> out = new ArrayList<>();
    CommandRunner.Result v = run(qemuBinary, "-version");
    if (v == null || v.exitCode() != 0) {
      out.add(Finding.fail("qemu", qemuBinary + " does not run", "apt-get install qemu-system-x86 (scripts/install.sh does), or set qemuBinary in the config"));
      return out;
    }
    Matcher m = Pattern.compile("version (\\d+)\\.(\\d+)").matcher(v.stdout());
    if (!m.find()) {
      out.add(Finding.warn("qemu", "version not recognised: " + v.stdout().lines().findFirst().orElse(""), "use QEMU 7.2 or later"));
    } else {
      int major = Integer.parseInt(m.group(1));
      int minor = Integer.parseInt(m.group(2));
      String version = major + "." + minor;
      out.add(major > 7 || (major == 7 && minor >= 2) ? Finding.ok("qemu", "QEMU " + version)
          : Finding.fail("qemu", "QEMU " + version + " is older than 7.2, which Kiln's snapshots and -blockdev chains need", "install QEMU 7.2 or later (Debian 12 has it)"));
    }
    CommandRunner.Result machines = run(qemuBinary, "-machine", "help");
    String listed = machines == null ? "" : machines.stdout();
    boolean microvm = listed.lines().anyMatch(l -> l.strip().startsWith("microvm "));
    boolean q35 = listed.lines().anyMatch(l -> l.strip().startsWith("q35 "));
    out.add(microvm ? Finding.ok("qemu machines", "microvm" + (q35 ? " and q35" : "; no q35 (no CPU or memory hot-plug)"))
        : Finding.fail("qemu machines", "this QEMU has no microvm machine", "install Debian's qemu-system-x86, which has microvm and q35"));
    CommandRunner.Result img = run("qemu-img", "--version");
    out.add(img != null && img.exitCode() == 0 ? Finding.ok("qemu-img", img.stdout().lines().findFirst().orElse("").strip())
        : Finding.fail("qemu-img", "qemu-img does not run", "apt-get install qemu-utils"));
    return out;
  }

  Finding cgroups() {
    Path fs = host("/sys/fs/cgroup");
    try {
      if (Files.isRegularFile(fs.resolve("cgroup.controllers"))) {
        String controllers = Files.readString(fs.resolve("cgroup.controllers")).strip();
        List<String> missing = missing(controllers, List.of("cpu", "memory", "pids", "io"));
        return missing.isEmpty() ? Finding.ok("cgroups", "v2, controllers " + controllers)
            : Finding.warn("cgroups", "v2 without " + String.join(", ", missing) + ": VMs run without those limits",
                "enable the controllers on the kernel command line (cgroup_enable=…) or in the root's cgroup.subtree_control");
      }
      List<String> missing = new ArrayList<>();
      for (String c : List.of("cpu", "cpuacct", "memory", "pids", "blkio")) {
        if (!Files.isDirectory(fs.resolve(c))) missing.add(c);
      }
      if (missing.size() == 5) {
        return Finding.warn("cgroups", "none mounted at /sys/fs/cgroup: VMs run without CPU, memory and pids limits",
            "mount cgroup v2 (mount -t cgroup2 none /sys/fs/cgroup) or boot with systemd's default");
      }
      return missing.isEmpty() ? Finding.ok("cgroups", "v1, controllers cpu, cpuacct, memory, pids, blkio")
          : Finding.warn("cgroups", "v1 without " + String.join(", ", missing) + ": VMs run without those limits", "mount the missing controllers under /sys/fs/cgroup");
    } catch (IOException e) {
      return Finding.warn("cgroups", "unreadable: " + e.getMessage(), "check /sys/fs/cgroup");
    }
  }

  private static List<String> missing(String have, List<String> want) {
    List<String> out = new ArrayList<>();
    for (String w : want) {
      if (!List.of(have.split("\\s+")).contains(w)) out.add(w);
    }
    return out;
  }

  List<Finding> tools() {
    List<Finding> out = new ArrayList<>();
    record Tool(String name, String why, String pkg, String... args) {}
    for (Tool t : List.of(new Tool("nft", "the sandboxes' firewall", "nftables", "--version"), new Tool("ip", "network namespaces and links", "iproute2", "-V"),
        new Tool("tc", "bandwidth limits", "iproute2", "-V"), new Tool("nsenter", "starting QEMU in a sandbox's namespace", "util-linux", "--version"),
        new Tool("setpriv", "starting QEMU as its own uid", "util-linux", "--version"), new Tool("setfacl", "giving the VMM group /dev/net/tun", "acl", "--version"),
        new Tool("bash", "handing QEMU its disk chain open", "bash", "--version"))) {
      CommandRunner.Result r = run(t.name(), t.args());
      out.add(r != null && r.exitCode() == 0 ? Finding.ok(t.name(), "present (" + t.why() + ")")
          : Finding.fail(t.name(), "missing: needed for " + t.why(), "apt-get install " + t.pkg()));
    }
    return out;
  }

  Finding tun() {
    Path tun = host("/dev/net/tun");
    return Files.exists(tun) ? Finding.ok("/dev/net/tun", "present")
        : Finding.fail("/dev/net/tun", "missing: sandboxes cannot have a network", "modprobe tun (or run the container with --device /dev/net/tun)");
  }

  /**
   * A VM's uid can make links in its run directory. With the kernel's link protections off it
   * could hard-link a root-owned file there (or have a symlink followed in a sticky directory) for
   * the daemon to write through; the daemon opens without following, but this is the kernel's
   * own line of defence (docs/adr/0020).
   */
  Finding linkProtection() {
    List<String> off = new ArrayList<>();
    for (String knob : List.of("protected_hardlinks", "protected_symlinks")) {
      try {
        if (!Files.readString(host("/proc/sys/fs/" + knob)).strip().equals("1")) off.add("fs." + knob);
      } catch (IOException e) {
        off.add("fs." + knob + " (unreadable)");
      }
    }
    return off.isEmpty() ? Finding.ok("link protection", "fs.protected_hardlinks and fs.protected_symlinks are on")
        : Finding.warn("link protection", String.join(" and ", off) + " off: a VM's uid could link files it does not own into its run directory",
            "sysctl -w " + String.join("=1 ", off.stream().map(o -> o.replace(" (unreadable)", "")).toList()) + "=1 (and set it in /etc/sysctl.d)");
  }

  List<Finding> dataDirectory() {
    List<Finding> out = new ArrayList<>();
    Path p = dataDir.toAbsolutePath().normalize();
    Path existing = p;
    while (!Files.exists(existing) && existing.getParent() != null) existing = existing.getParent();
    try {
      var store = Files.getFileStore(existing);
      long free = store.getUsableSpace();
      String found = p + " on " + store.type() + ", " + (free >> 30) + " GiB free";
      if (store.type().equals("tmpfs")) {
        out.add(Finding.warn("data directory", found + ": tmpfs loses every sandbox and template at reboot and takes RAM", "put it on a disk (--data-dir)"));
      } else if (free < LOW_FREE_BYTES) {
        out.add(Finding.warn("data directory", found + ": templates, layers and snapshots need room", "free space or move it to a larger disk (--data-dir)"));
      } else {
        out.add(Finding.ok("data directory", found));
      }
      for (Path a = existing; a != null; a = a.getParent()) {
        if (!Files.getPosixFilePermissions(a).contains(PosixFilePermission.OTHERS_EXECUTE)) {
          out.add(Finding.fail("data directory access", a + " does not let others traverse it, and QEMU runs as unprivileged uids",
              "chmod o+x " + a));
          return out;
        }
      }
      out.add(Finding.ok("data directory access", "every directory above it lets QEMU's uids through"));
    } catch (IOException e) {
      out.add(Finding.fail("data directory", p + " cannot be examined: " + e.getMessage(), "create it, or pass another with --data-dir"));
    }
    return out;
  }

  List<Finding> uids() {
    List<Finding> out = new ArrayList<>();
    if (vmmUids.isEmpty()) {
      out.add(Finding.warn("vmm uids", "vmm.uids is \"\": QEMU runs as the daemon's user and one VM can reach another's files", "set vmm.uids to a free range"));
      return out;
    }
    VmmIdentities range;
    try {
      range = VmmIdentities.parse(vmmUids, java.util.OptionalInt.empty());
    } catch (IllegalArgumentException e) {
      out.add(Finding.fail("vmm uids", e.getMessage(), "set vmm.uids to FIRST-LAST"));
      return out;
    }
    List<String> clashes = new ArrayList<>();
    for (String file : List.of("/etc/passwd", "/etc/group")) {
      try {
        for (String line : Files.readAllLines(host(file))) {
          String[] f = line.split(":");
          if (f.length > 2 && f[2].matches("\\d{1,10}") && range.inRange((int) Math.min(Integer.MAX_VALUE, Long.parseLong(f[2])))) {
            clashes.add(f[0] + " (" + file + ")");
          }
        }
      } catch (IOException e) {
        // no such file on this host: nothing there to clash with
      }
    }
    for (String file : List.of("/etc/subuid", "/etc/subgid")) {
      try {
        for (String line : Files.readAllLines(host(file))) {
          String[] f = line.split(":");
          if (f.length != 3 || !f[1].matches("\\d{1,10}") || !f[2].matches("\\d{1,10}")) continue;
          long first = Long.parseLong(f[1]);
          long last = first + Long.parseLong(f[2]) - 1;
          String[] ours = vmmUids.split("-");
          if (first <= Long.parseLong(ours[1]) && last >= Long.parseLong(ours[0])) clashes.add(f[0] + "'s subordinate ids (" + file + ")");
        }
      } catch (IOException e) {
        // none
      }
    }
    out.add(clashes.isEmpty() ? Finding.ok("vmm uids", vmmUids + " (" + range.size() + " VMs), used by no account")
        : Finding.fail("vmm uids", vmmUids + " overlaps " + String.join(", ", clashes) + ": a VM would run as that account",
            "set vmm.uids to a range no account or subordinate range uses"));
    boolean group = false;
    try {
      group = Files.readAllLines(host("/etc/group")).stream().anyMatch(l -> l.startsWith(vmmGroup + ":"));
    } catch (IOException e) {
      // no group file: no group
    }
    out.add(group ? Finding.ok("vmm group", vmmGroup + " exists")
        : Finding.fail("vmm group", vmmGroup + " does not exist: the daemon refuses to start", "groupadd --system " + vmmGroup + " (scripts/install.sh does)"));
    return out;
  }

  private static CommandRunner.Result run(String tool, String... args) {
    List<String> argv = new ArrayList<>(List.of(tool));
    argv.addAll(List.of(args));
    try {
      return CommandRunner.runAllowingFailure(argv, TOOL_TIMEOUT);
    } catch (RuntimeException e) {
      return null; // not installed
    }
  }
}
