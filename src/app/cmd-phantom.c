/* placeholder: being written */
#include "commands.h"
int cmd_phantom(int argc, char **argv) { (void)argc; (void)argv; return 1; }
