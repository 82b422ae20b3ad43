/**
 * Virtual machine monitors behind one interface ({@link dev.kiln.vmm.VmmBackend}): the QEMU
 * {@code microvm} backend, its command line, the QMP client, and accelerator choice. A VM here is
 * a process with sockets and files in a run directory; it knows nothing of sandboxes or templates.
 */
package dev.kiln.vmm;
