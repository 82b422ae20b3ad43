package dev.kiln.net.dns;

import java.net.Inet4Address;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** A policy from patterns and local names that records what the resolver told it. */
final class TestPolicy implements ClientPolicy {
  record Resolved(String name, List<Inet4Address> addresses, int ttlSeconds) {}

  final List<Resolved> resolved = new CopyOnWriteArrayList<>();
  final List<String> denied = new CopyOnWriteArrayList<>();
  private final List<DomainPattern> allowed;
  private final Map<String, List<Inet4Address>> local;
  private volatile Consumer<Resolved> onResolved = r -> {};

  TestPolicy(List<String> allowed, Map<String, List<Inet4Address>> local) {
    this.allowed = allowed.stream().map(DomainPattern::parse).toList();
    this.local = local;
  }

  /** Runs {@code hook} inside resolved(), before the resolver may send its reply. */
  TestPolicy onResolved(Consumer<Resolved> hook) {
    this.onResolved = hook;
    return this;
  }

  @Override
  public boolean allows(String name) {
    return allowed.stream().anyMatch(p -> p.matches(name));
  }

  @Override
  public void denied(String name) {
    denied.add(name);
  }

  @Override
  public Optional<List<Inet4Address>> localAnswer(String name) {
    return Optional.ofNullable(local.get(name));
  }

  @Override
  public void resolved(String name, List<Inet4Address> addresses, int ttlSeconds) {
    Resolved r = new Resolved(name, addresses, ttlSeconds);
    resolved.add(r);
    onResolved.accept(r);
  }
}
