/* shape kernels: being written */
