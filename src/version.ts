/** The Electric release whose protocol and behaviour this service implements. */
export const ELECTRIC_VERSION = "0.12.1";
