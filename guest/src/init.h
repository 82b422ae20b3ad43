/* PID 1 duties before the agent can serve: the early mounts, kernel modules, the sandbox disk, and
 * finding the host's virtio port. Shared with the hostile test agent. */
#ifndef KILN_INIT_H
#define KILN_INIT_H

/* Mounts /dev, /proc and /sys of the initramfs and loads the modules listed in /kiln/modules/order. */
int init_early(void);
/* Mounts the disk named by kiln.root= and makes it the root, with /dev/pts, /dev/shm, /run, /tmp. */
int init_switch_root(void);
/* Configures eth0 from kiln.net=address/prefix,gateway (absent: no network) and points the
 * resolver at the gateway. Never fatal: a sandbox without its network still serves the host. */
void init_network(void);
/* Starts a child that onlines every CPU the host hot-plugs (the kernel leaves them offline for
 * udev, which a sandbox has not). Never fatal: without it a sandbox keeps the CPUs it booted with. */
void init_cpu_hotplug(void);
/* Opens the virtio port named `name`, waiting for it to appear; -1 on timeout. */
int open_virtio_port(const char *name);
/* Never returns: PID 1 must not exit (the kernel would panic), so it reaps and sleeps instead. */
void __attribute__((noreturn)) init_halt(const char *why);

#endif
