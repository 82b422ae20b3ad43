/**
 * Where sandboxes boot from: the guest boot artifacts (kernel and initramfs built by
 * scripts/build-guest.sh), and templates, which are read-only ext4 root filesystems built from a
 * {@link dev.kiln.image.TemplateSource} (a directory today; OCI images plug in as another source).
 */
package dev.kiln.image;
