/* Entry points of the mrigan subcommands; main.c dispatches argv[1] to them.
 * Each takes the arguments from the subcommand name on (argv[0] is the name) and returns the process
 * exit status: 0 on success, 1 on a failure at run time, 2 on bad usage.
 */
#ifndef MRIGAN_APP_COMMANDS_H
#define MRIGAN_APP_COMMANDS_H

/* mrigan bench: convolution GFLOP/s of the generators' layer shapes against plain SGEMM. */
int cmd_bench(int argc, char **argv);
/* mrigan devices: lists OpenCL devices. */
int cmd_devices(int argc, char **argv);
/* mrigan bench train: seconds per whole training iteration. */
int cmd_bench_train(int argc, char **argv);
/* mrigan bench tune: CLBlast's GEMM parameters chosen for an OpenCL device and kept for it. */
int cmd_bench_tune(int argc, char **argv);
/* The GEMMs the OpenCL backend runs for network's layers in mrigan bench ("default", "unet256", "resnet9"): forward,
 * dW and dX of each, distinct, at most max; how many. */
struct mg_gemm_shape;
int bench_gemm_shapes(const char *net, struct mg_gemm_shape *out, int max);
/* mrigan bench quality: translations of the paired sets scored against the truth, beside the baselines. */
int cmd_bench_quality(int argc, char **argv);
/* mrigan phantom: writes a synthetic paired T1/T2 brain slice set. */
int cmd_phantom(int argc, char **argv);
/* mrigan train: CycleGAN training. */
int cmd_train(int argc, char **argv);
/* mrigan translate: applies a trained generator to PNG slices and NIfTI volumes. */
int cmd_translate(int argc, char **argv);
/* mrigan report: writes the HTML report of a training run folder. */
int cmd_report(int argc, char **argv);
/* mrigan pick: of runs that differ in seed only, the one whose generators end fooling their critics best. */
int cmd_pick(int argc, char **argv);
/* mrigan export: a translation-only model file (the generators, optionally float16) from a checkpoint. */
int cmd_export(int argc, char **argv);
/* mrigan eval: PSNR, SSIM and MAE of translated slices against paired targets. */
int cmd_eval(int argc, char **argv);

#endif
