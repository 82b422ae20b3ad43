/* kiln-agent: PID 1 of every sandbox, and the host's only way in.
 *
 *   as /init (PID 1)    boot the sandbox (init.c), then serve the host on the virtio port
 *   --fd N              serve the protocol on an inherited descriptor (tests)
 *   --version           print the agent and protocol version
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "init.h"

#define PORT_NAME "kiln.agent"

static void __attribute__((noreturn)) run_as_init(void) {
  if (init_early() < 0) init_halt("early boot failed");
  if (init_switch_root() < 0) init_halt("cannot mount the sandbox disk");
  init_network();
  init_cpu_hotplug();
  int fd = open_virtio_port(PORT_NAME);
  if (fd < 0) init_halt("no host channel");
  agent_log("ready on %s", PORT_NAME);
  for (;;) serve(fd, SERVE_PORT | SERVE_IN_VM);
}

int main(int argc, char **argv) {
  if (getpid() == 1) run_as_init();
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    printf("%s protocol %d\n", AGENT_VERSION, PROTO_VERSION);
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "--fd") == 0) return serve(atoi(argv[2]), 0) < 0 ? 1 : 0;
  fprintf(stderr, "usage: kiln-agent [--fd N | --version] (as PID 1 it boots the sandbox)\n");
  return 2;
}
