/**
 * Virtual machine monitors behind one interface ({@link dev.kiln.vmm.VmmBackend}): the QEMU
 * backend on two machines ({@code microvm}, {@code q35}), its command line, CPU and memory
 * hot-plug, the QMP client, and accelerator choice. A VM here is a process with sockets and files
 * in a run directory; it knows nothing of sandboxes or templates.
 */
package dev.kiln.vmm;
