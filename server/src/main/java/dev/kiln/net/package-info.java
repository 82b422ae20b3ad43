/**
 * Sandbox networking: a network namespace per sandbox with a tap for its VM and a veth to the host
 * (identical guest addressing in every one, unique addresses outside), nftables policy inside the
 * namespace (egress allow and deny lists, resolver-admitted names, group peers), tc bandwidth
 * limits, the host's NAT and input guard, and the pool of namespaces made ahead. Subpackages: the
 * policy resolver ({@code dns}) and the port proxy and forwards ({@code proxy}).
 */
package dev.kiln.net;
