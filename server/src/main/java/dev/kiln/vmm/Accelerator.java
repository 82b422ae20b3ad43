package dev.kiln.vmm;

import dev.kiln.host.HostFacts;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The CPU accelerator a VM runs on. */
public enum Accelerator {
  KVM, TCG;

  private static final Logger log = LoggerFactory.getLogger(Accelerator.class);

  /** What the operator asked for in the config. */
  public enum Choice { AUTO, KVM, TCG }

  /**
   * Resolves {@code auto}: KVM only where the host runs real hardware virtualization
   * (kvm_intel or kvm_amd). KVM-PVM, a software nested-virtualization module, exposes /dev/kvm
   * but hangs ordinary guests in early boot, so it counts as no KVM.
   */
  public static Accelerator resolve(Choice choice, Path sysModule, Path devKvm) {
    HostFacts.KvmModule module = HostFacts.kvmModule(sysModule);
    boolean usable = (module == HostFacts.KvmModule.INTEL || module == HostFacts.KvmModule.AMD) && Files.isWritable(devKvm);
    return switch (choice) {
      case KVM -> {
        if (!usable) log.warn("accelerator=kvm forced by config but the host kvm module is {} (devKvm writable={}); guests may not boot", module, Files.isWritable(devKvm));
        yield KVM;
      }
      case TCG -> {
        log.info("accelerator=tcg chosen by config");
        yield TCG;
      }
      case AUTO -> {
        if (usable) {
          log.info("accelerator=kvm host_module={}", module);
          yield KVM;
        }
        log.warn("accelerator=tcg reason=\"{}\" impact=\"software emulation: guests boot and run several times slower\"",
            module == HostFacts.KvmModule.PVM
                ? "/dev/kvm is KVM-PVM (kvm_pvm), which hangs standard guests"
                : "no kvm_intel/kvm_amd module or /dev/kvm not writable");
        yield TCG;
      }
    };
  }
}
