package dev.kiln.doctor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checks read a host's files under a root: here a directory laid out as hosts Kiln meets are. */
class HostDoctorTest {
  @TempDir
  Path root;

  private HostDoctor doctor(String uids) {
    return new HostDoctor(root, root.resolve("data"), "qemu-system-x86_64", uids, "kiln-vmm", root.resolve("guest"));
  }

  private void file(String path, String content) throws Exception {
    Path p = root.resolve(path.substring(1));
    Files.createDirectories(p.getParent());
    Files.writeString(p, content);
  }

  @Test
  void kvmPvmAndNoKvmAreTcgWithTheirReasonRealKvmIsKvm() throws Exception {
    Files.createDirectories(root.resolve("sys/module/kvm_pvm"));
    Finding pvm = doctor("").accelerator();
    assertEquals(Finding.Status.WARN, pvm.status());
    assertTrue(pvm.found().contains("KVM-PVM") && pvm.found().contains("TCG"), pvm.found());
    Files.delete(root.resolve("sys/module/kvm_pvm"));
    assertTrue(doctor("").accelerator().found().contains("no kvm_intel or kvm_amd"));
    Files.createDirectories(root.resolve("sys/module/kvm_intel"));
    file("/dev/kvm", "");
    assertEquals(Finding.Status.OK, doctor("").accelerator().status());
  }

  @Test
  void cgroupVersionsAndMissingControllersAreNamed() throws Exception {
    file("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu memory pids\n");
    Finding v2 = doctor("").cgroups();
    assertEquals(Finding.Status.WARN, v2.status());
    assertTrue(v2.found().startsWith("v2 without io"), v2.found());
    Files.delete(root.resolve("sys/fs/cgroup/cgroup.controllers"));
    for (String c : List.of("cpu", "cpuacct", "memory", "pids", "blkio")) Files.createDirectories(root.resolve("sys/fs/cgroup").resolve(c));
    assertEquals(Finding.ok("cgroups", "v1, controllers cpu, cpuacct, memory, pids, blkio"), doctor("").cgroups());
  }

  @Test
  void aUidRangeThatOverlapsAnAccountOrASubordinateRangeFailsAndAMissingGroupToo() throws Exception {
    file("/etc/passwd", "root:x:0:0::/root:/bin/bash\nalice:x:3000005:3000005::/home/alice:/bin/sh\n");
    file("/etc/group", "root:x:0:\n");
    file("/etc/subuid", "bob:2990000:65536\n");
    List<Finding> f = doctor("3000000-3065535").uids();
    assertEquals(Finding.Status.FAIL, f.get(0).status());
    assertTrue(f.get(0).found().contains("alice (/etc/passwd)") && f.get(0).found().contains("bob's subordinate ids (/etc/subuid)"), f.get(0).found());
    assertEquals(Finding.Status.FAIL, f.get(1).status());
    assertEquals("groupadd --system kiln-vmm (scripts/install.sh does)", f.get(1).fix());

    file("/etc/passwd", "root:x:0:0::/root:/bin/bash\n");
    file("/etc/subuid", "");
    file("/etc/group", "kiln-vmm:x:995:\n");
    assertTrue(doctor("3000000-3065535").uids().stream().allMatch(x -> x.status() == Finding.Status.OK));
    assertEquals(Finding.Status.FAIL, doctor("12-3").uids().get(0).status(), "not a range");
  }

  @Test
  void theGuestKernelIsNamedAndDebiansFallbackOrAnUnknownOneIsAWarningWithTheRebuild() throws Exception {
    assertEquals(Finding.Status.FAIL, doctor("").guestKernel().status(), "no artifacts");
    file("/guest/vmlinux", "");
    file("/guest/initrd.cpio", "");
    String files = "\"kernel\": \"vmlinux\", \"initrd\": \"initrd.cpio\"";
    file("/guest/manifest.json", "{" + files + ", \"kernel_flavor\": \"kiln\", \"kernel_source\": \"linux-source-6.1=6.1.192-2\"}");
    assertEquals(Finding.ok("guest kernel", "Kiln's, linux-source-6.1=6.1.192-2"), doctor("").guestKernel());
    file("/guest/manifest.json", "{" + files + ", \"kernel_flavor\": \"debian\", \"kernel_source\": \"linux-image-6.1.0-56-cloud-amd64=6.1.192-2\"}");
    Finding debian = doctor("").guestKernel();
    assertEquals(Finding.Status.WARN, debian.status());
    assertTrue(debian.found().startsWith("Debian's cloud kernel (linux-image-6.1.0-56-cloud-amd64=6.1.192-2)"), debian.found());
    assertTrue(debian.fix().startsWith("scripts/build-guest.sh --kernel kiln"), debian.fix());
    file("/guest/manifest.json", "{" + files + ", \"kernel_package\": \"linux-image-6.1.0-56-cloud-amd64=6.1.192-2\"}");
    assertTrue(doctor("").guestKernel().found().contains("do not say which kernel"));
  }

  @Test
  void aDataDirectoryOthersCannotTraverseFailsNamingTheDirectory() throws Exception {
    Path closed = Files.createDirectories(root.resolve("closed"));
    Files.setPosixFilePermissions(closed, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    Files.setPosixFilePermissions(root, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
    List<Finding> f = new HostDoctor(root, closed.resolve("data"), "qemu-system-x86_64", "", "kiln-vmm", root.resolve("guest")).dataDirectory();
    Finding access = f.stream().filter(x -> x.check().equals("data directory access")).findFirst().orElseThrow();
    assertEquals(Finding.Status.FAIL, access.status());
    assertEquals("chmod o+x " + closed, access.fix());
  }

  @Test
  void linkProtectionOffIsAWarningWithTheSysctlThatTurnsItOn() throws Exception {
    file("/proc/sys/fs/protected_hardlinks", "1\n");
    file("/proc/sys/fs/protected_symlinks", "1\n");
    assertEquals(Finding.Status.OK, doctor("").linkProtection().status());
    file("/proc/sys/fs/protected_symlinks", "0\n");
    Finding off = doctor("").linkProtection();
    assertEquals(Finding.Status.WARN, off.status());
    assertTrue(off.found().startsWith("fs.protected_symlinks off"), off.found());
    assertEquals("sysctl -w fs.protected_symlinks=1 (and set it in /etc/sysctl.d)", off.fix());
  }
}
