/** The CLI's version (`polarity --version`), answered by the launcher without loading the CLI. */
export const VERSION = "0.1.0";
