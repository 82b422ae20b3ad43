/**
 * The REST API (routes in server/src/main/resources/openapi.yaml): HTTP parsing, authentication,
 * JSON bodies and the one place where error codes become HTTP statuses. The only package that
 * imports Jetty.
 */
package dev.kiln.api;
