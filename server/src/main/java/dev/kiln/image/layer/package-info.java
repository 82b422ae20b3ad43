/**
 * OCI image layers onto a root filesystem directory: decompression told by magic number, tar
 * entries of every file type with owners, modes, times and xattrs, whiteouts and opaque
 * directories. A layer is treated as hostile: nothing it holds reaches outside the rootfs.
 */
package dev.kiln.image.layer;
