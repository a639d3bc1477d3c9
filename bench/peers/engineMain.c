/*
 * The command loop every benchmarked engine runs, so the bench drives Kernel NN's C, onnx2c's C and onnxruntime the
 * same way and keeps each one loaded between interleaved rounds. An engine file supplies the engine_* functions.
 * stdin: the inputs' float32 bits as hex words (all inputs back to back, in graph order), then commands, one a line:
 *   out      runs once and prints "output I HEXWORD..." per output, then "end"
 *   time N   runs N times and prints "ns NS_PER_CALL" (the mean over this batch of calls)
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <string.h>
#include <time.h>

int engine_open(int argc, char **argv);
int engine_inputs(void);
long engine_input_size(int i);
float *engine_input(int i);
int engine_outputs(void);
long engine_output_size(int i);
const float *engine_output(int i);
int engine_run(void);

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int read_inputs(void)
{
	int i;
	long k;
	for (i = 0; i < engine_inputs(); ++i) {
		float *data = engine_input(i);
		for (k = 0; k < engine_input_size(i); ++k) {
			unsigned int word;
			if (scanf("%x", &word) != 1) {
				fprintf(stderr, "input %d: expected %ld hex words of float32 bits, got %ld\n", i, engine_input_size(i), k);
				return -1;
			}
			memcpy(data + k, &word, 4);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	char command[64];
	long n, r, k;
	int i;
	if (engine_open(argc, argv) != 0 || read_inputs() != 0)
		return 1;
	while (scanf("%63s", command) == 1) {
		if (strcmp(command, "out") == 0) {
			if (engine_run() != 0)
				return 1;
			for (i = 0; i < engine_outputs(); ++i) {
				const float *data = engine_output(i);
				printf("output %d", i);
				for (k = 0; k < engine_output_size(i); ++k) {
					unsigned int word;
					memcpy(&word, data + k, 4);
					printf(" %08x", word);
				}
				printf("\n");
			}
			printf("end\n");
		} else if (strcmp(command, "time") == 0 && scanf("%ld", &n) == 1 && n > 0) {
			double start = now_ns();
			for (r = 0; r < n; ++r)
				if (engine_run() != 0)
					return 1;
			printf("ns %.2f\n", (now_ns() - start) / n);
		} else {
			fprintf(stderr, "unknown command \"%s\" (expected out or time N)\n", command);
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}
