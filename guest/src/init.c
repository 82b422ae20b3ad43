#include "init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define DEVICE_WAIT_MS 10000
#define TMP_CAP_BYTES (512ull << 20)

static void sleep_ms(int ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

void init_halt(const char *why) {
  agent_log("fatal: %s; powering off", why);
  sync();
  /* With -no-reboot QEMU exits on a reboot request, which the host sees as the VM dying. */
  reboot(RB_AUTOBOOT);
  for (;;) {
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    sleep_ms(1000);
  }
}

static int mount_at(const char *src, const char *target, const char *type, unsigned long flags, const char *data) {
  mkdir(target, 0755);
  if (mount(src, target, type, flags, data) < 0 && errno != EBUSY) {
    agent_log("mount %s on %s: %s", type, target, strerror(errno));
    return -1;
  }
  return 0;
}

static int load_modules(void) {
  FILE *order = fopen("/kiln/modules/order", "re");
  if (!order) return errno == ENOENT ? 0 : -1; /* a kernel with everything built in has none */
  char line[512];
  int rc = 0;
  while (fgets(line, sizeof line, order)) {
    line[strcspn(line, "\n")] = 0;
    if (!*line) continue;
    char path[600];
    snprintf(path, sizeof path, "/kiln/modules/%s", line);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0) {
      if (errno != EEXIST) {
        agent_log("load module %s: %s", line, strerror(errno));
        rc = -1;
      }
    }
    if (fd >= 0) close(fd);
    unlink(path); /* the initramfs stays in RAM: give the module's pages back */
  }
  fclose(order);
  return rc;
}

int init_early(void) {
  if (mount_at("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") < 0) return -1;
  if (mount_at("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) return -1;
  if (mount_at("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) return -1;
  return load_modules();
}

/* The value of `key=` on the kernel command line, or NULL. */
static char *cmdline_value(const char *key) {
  static char buf[4096];
  int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return NULL;
  buf[n] = 0;
  size_t klen = strlen(key);
  for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
    if (strncmp(tok, key, klen) == 0 && tok[klen] == '=') return tok + klen + 1;
  return NULL;
}

static int wait_for(const char *path) {
  for (int waited = 0; waited < DEVICE_WAIT_MS; waited += 5) {
    if (access(path, F_OK) == 0) return 0;
    sleep_ms(5);
  }
  return -1;
}

static void bring_up_loopback(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  struct ifreq ifr = {0};
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) agent_log("lo up: %s", strerror(errno));
  }
  close(s);
}

int init_switch_root(void) {
  char *root = cmdline_value("kiln.root");
  if (!root) {
    agent_log("no kiln.root= on the kernel command line");
    return -1;
  }
  char dev[256];
  snprintf(dev, sizeof dev, "%s", root);
  if (wait_for(dev) < 0) {
    agent_log("root device %s did not appear", dev);
    return -1;
  }
  if (mount_at(dev, "/newroot", "ext4", 0, NULL) < 0) return -1;
  const char *moved[] = {"/dev", "/proc", "/sys"};
  for (size_t i = 0; i < sizeof moved / sizeof *moved; i++) {
    char target[64];
    snprintf(target, sizeof target, "/newroot%s", moved[i]);
    mkdir(target, 0755);
    if (mount(moved[i], target, NULL, MS_MOVE, NULL) < 0) {
      agent_log("move %s: %s", moved[i], strerror(errno));
      return -1;
    }
  }
  if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
    agent_log("switch root: %s", strerror(errno));
    return -1;
  }
  struct sysinfo si;
  unsigned long long tmp = TMP_CAP_BYTES;
  if (sysinfo(&si) == 0 && (unsigned long long)si.totalram * si.mem_unit / 2 < tmp)
    tmp = (unsigned long long)si.totalram * si.mem_unit / 2;
  char tmpopts[64];
  snprintf(tmpopts, sizeof tmpopts, "mode=1777,size=%llu", tmp);
  /* Images differ in what they ship; a missing extra mount is logged, not fatal. */
  mount_at("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=620,ptmxmode=666");
  mount_at("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  mount_at("run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  mount_at("tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, tmpopts);
  symlink("/proc/self/fd", "/dev/fd");
  symlink("/proc/self/fd/0", "/dev/stdin");
  symlink("/proc/self/fd/1", "/dev/stdout");
  symlink("/proc/self/fd/2", "/dev/stderr");
  bring_up_loopback();
  return 0;
}

static int set_ipv4(int s, const char *ifname, unsigned long request, in_addr_t addr) {
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
  struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = addr;
  return ioctl(s, request, &ifr);
}

/* The resolver is the gateway. Bind-mounted over /etc/resolv.conf from /run, as container
 * runtimes do, so the image's file is shadowed, not rewritten. */
static void point_resolver_at(const char *gateway) {
  char text[64];
  int len = snprintf(text, sizeof text, "nameserver %s\n", gateway);
  int fd = open("/run/kiln-resolv.conf", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, text, (size_t)len) != len) {
    agent_log("resolv.conf: %s", strerror(errno));
    if (fd >= 0) close(fd);
    return;
  }
  close(fd);
  struct stat st;
  mkdir("/etc", 0755);
  if (lstat("/etc/resolv.conf", &st) < 0 || !S_ISREG(st.st_mode)) {
    /* a symlink (to systemd-resolved's file, say) or nothing: a plain file to mount over */
    unlink("/etc/resolv.conf");
    int f = open("/etc/resolv.conf", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (f >= 0) close(f);
  }
  if (mount("/run/kiln-resolv.conf", "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0) agent_log("resolv.conf bind: %s", strerror(errno));
}

void init_network(void) {
  char *value = cmdline_value("kiln.net");
  if (!value) return;
  char spec[64], *slash, *comma;
  snprintf(spec, sizeof spec, "%s", value);
  if (!(slash = strchr(spec, '/')) || !(comma = strchr(slash, ','))) {
    agent_log("kiln.net=%s: want address/prefix,gateway", spec);
    return;
  }
  *slash = 0;
  *comma = 0;
  int prefix = atoi(slash + 1);
  struct in_addr addr, gw;
  if (prefix < 1 || prefix > 32 || inet_pton(AF_INET, spec, &addr) != 1 || inet_pton(AF_INET, comma + 1, &gw) != 1) {
    agent_log("kiln.net: bad address, prefix or gateway");
    return;
  }
  if (wait_for("/sys/class/net/eth0") < 0) {
    agent_log("kiln.net given but eth0 did not appear");
    return;
  }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  struct ifreq ifr = {0};
  strcpy(ifr.ifr_name, "eth0");
  if (set_ipv4(s, "eth0", SIOCSIFADDR, addr.s_addr) < 0 || set_ipv4(s, "eth0", SIOCSIFNETMASK, htonl(~0u << (32 - prefix))) < 0 ||
      ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
    agent_log("eth0 address: %s", strerror(errno));
    close(s);
    return;
  }
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) agent_log("eth0 up: %s", strerror(errno));
  struct rtentry rt = {0};
  ((struct sockaddr_in *)&rt.rt_dst)->sin_family = AF_INET;
  ((struct sockaddr_in *)&rt.rt_genmask)->sin_family = AF_INET;
  struct sockaddr_in *g = (struct sockaddr_in *)&rt.rt_gateway;
  g->sin_family = AF_INET;
  g->sin_addr = gw;
  rt.rt_flags = RTF_UP | RTF_GATEWAY;
  if (ioctl(s, SIOCADDRT, &rt) < 0) agent_log("default route: %s", strerror(errno));
  close(s);
  point_resolver_at(comma + 1);
}

/* Writes "1" to /sys/devices/system/cpu/cpuN/online for a uevent "add@/devices/system/cpu/cpuN". */
static void online_cpu(const char *msg, ssize_t len) {
  static const char prefix[] = "add@/devices/system/cpu/cpu";
  if (len < (ssize_t)sizeof prefix || strncmp(msg, prefix, sizeof prefix - 1) != 0) return;
  const char *num = msg + sizeof prefix - 1;
  if (strspn(num, "0123456789") != strlen(num) || strlen(num) > 4) return; /* cpuN itself, not a child device */
  int cpu = atoi(num);
  char path[64];
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/online", cpu);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "1", 1) != 1) agent_log("online cpu%d: %s", cpu, strerror(errno));
  if (fd >= 0) close(fd);
}

void init_cpu_hotplug(void) {
  int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
  struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = 1}; /* the kernel's uevent group */
  if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
    agent_log("uevent socket: %s; hot-plugged CPUs stay offline", strerror(errno));
    if (s >= 0) close(s);
    return;
  }
  /* A child of its own, so that PID 1's poll loop stays about the host; it blocks in recv. */
  pid_t pid = fork();
  if (pid < 0) agent_log("fork for CPU hot-plug: %s", strerror(errno));
  if (pid != 0) {
    close(s);
    return;
  }
  prctl(PR_SET_NAME, "kiln-cpu-online");
  char msg[4096];
  for (;;) {
    ssize_t n = recv(s, msg, sizeof msg - 1, 0);
    if (n < 0 && errno != EINTR && errno != ENOBUFS) _exit(1);
    if (n <= 0) continue;
    msg[n] = 0; /* the first of the NUL-separated fields is "ACTION@DEVPATH" */
    online_cpu(msg, (ssize_t)strlen(msg));
  }
}

/* Finds /dev/vportNpM whose /sys/class/virtio-ports/<port>/name is `name`. */
static int find_port(const char *name, char *out, size_t outlen) {
  DIR *d = opendir("/sys/class/virtio-ports");
  if (!d) return -1;
  struct dirent *e;
  int found = -1;
  while (found < 0 && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[512], got[128] = {0};
    snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, got, sizeof got - 1);
    close(fd);
    if (n > 0 && got[n - 1] == '\n') got[n - 1] = 0;
    if (n > 0 && strcmp(got, name) == 0) {
      snprintf(out, outlen, "/dev/%s", e->d_name);
      found = 0;
    }
  }
  closedir(d);
  return found;
}

int open_virtio_port(const char *name) {
  char dev[300];
  for (int waited = 0; waited < DEVICE_WAIT_MS; waited += 5) {
    if (find_port(name, dev, sizeof dev) == 0 && access(dev, F_OK) == 0) {
      int fd = open(dev, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
      if (fd >= 0) return fd;
      if (errno != EBUSY) agent_log("open %s: %s", dev, strerror(errno));
    }
    sleep_ms(5);
  }
  agent_log("virtio port %s did not appear", name);
  return -1;
}
