/* The input file of the loader targets: the loaders take a path, so each input is written to one file that
 * lives for the whole run. */
#ifndef MRIGAN_FUZZ_INPUT_H
#define MRIGAN_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

/* Creates the file (once, from LLVMFuzzerInitialize); exits with a message when it cannot. */
void fuzz_open_input(void);
/* Replaces the file's contents with data and returns its path; exits with a message on a write error. */
const char *fuzz_write_input(const uint8_t *data, size_t size);

#endif
