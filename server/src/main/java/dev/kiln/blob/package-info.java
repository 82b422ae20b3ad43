/**
 * Object storage for template artifacts in a cluster: {@link dev.kiln.blob.ObjectStore} (put a
 * local file under a key, get it back verified, head, list, delete) on any S3-compatible store
 * ({@link dev.kiln.blob.S3ObjectStore}) or a local directory ({@link dev.kiln.blob.LocalObjectStore}),
 * and {@link dev.kiln.blob.ArtifactCache}, a node's bounded local copy of the objects its VMs use.
 * Every object carries the SHA-256 and size recorded when it was put; a get that does not match
 * them is refused, and nothing half written is ever visible under a key or a cache path.
 * A single host does not use this package: its artifacts are the local files of dev.kiln.image.
 */
package dev.kiln.blob;
