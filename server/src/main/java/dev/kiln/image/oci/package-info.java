/**
 * OCI images: references, manifests and configs, a registry client of our own on java.net.http
 * (the distribution spec is small), a content-addressed blob cache, and OCI layout directories.
 * Everything a registry or a layout sends is checked against its digest before it is used.
 */
package dev.kiln.image.oci;
