/**
 * Kiln as a cluster of nodes: each daemon registers the host it runs VMs on and heartbeats its
 * capacity ({@link dev.kiln.cluster.NodeRegistry}, {@link dev.kiln.cluster.NodeHeartbeat}), one
 * daemon at a time leads the jobs that must run once per cluster through leases in the store
 * ({@link dev.kiln.cluster.Leadership}), and the leader marks silent nodes down
 * ({@link dev.kiln.cluster.NodeLiveness}). A single host is a cluster of one combined node.
 */
package dev.kiln.cluster;
