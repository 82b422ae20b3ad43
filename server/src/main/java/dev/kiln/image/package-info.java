/**
 * Where sandboxes boot from: the guest boot artifacts (kernel and initramfs built by
 * scripts/build-guest.sh), and templates, which are read-only ext4 root filesystems built from a
 * {@link dev.kiln.image.TemplateSource}, kept with their snapshots as immutable
 * {@link dev.kiln.image.Artifacts} that a template points at.
 */
package dev.kiln.image;
