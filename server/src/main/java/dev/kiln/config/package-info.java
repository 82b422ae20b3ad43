/** The daemon's configuration: one strict record tree with defaults and valid ranges beside each field. */
package dev.kiln.config;
