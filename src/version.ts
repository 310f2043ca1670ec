/** The Electric release whose protocol and behaviour this service implements. */
export const ELECTRIC_VERSION = "0.12.1";

/** This service's own release (package.json's `version`; a test keeps the two equal). */
export const SERVICE_VERSION = "0.1.0";
