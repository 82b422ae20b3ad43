package dev.kiln.image.oci;

import java.nio.file.Path;
import java.util.List;

/** An image whose manifest, config and layers are all verified and on local disk. */
public record PulledImage(String reference, Digest manifestDigest, ImageConfig config, List<Descriptor> layers, List<Path> layerFiles) {}
