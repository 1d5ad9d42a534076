/* reduce kernels: being written */
