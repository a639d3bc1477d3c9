/*
 * onnxruntime through its C API, as an engine for engineMain.c: one session on one intra-op thread, sequential
 * execution, all graph optimisations, float32 inputs and outputs bound once to our own buffers so a call is Run only.
 * Usage: ortHarness MODEL.onnx < inputs-and-commands (see engineMain.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include "onnxruntime_c_api.h"

#define MAX_IO 16

static const OrtApi *api;
static OrtSession *session;
static size_t input_count, output_count;
static char *input_names[MAX_IO], *output_names[MAX_IO];
static OrtValue *inputs[MAX_IO], *outputs[MAX_IO];
static float *input_data[MAX_IO], *output_data[MAX_IO];
static long input_sizes[MAX_IO], output_sizes[MAX_IO];

/* Prints and releases a failed call's status; 1 when it failed. */
static int failed(OrtStatus *status, const char *what)
{
	if (!status)
		return 0;
	fprintf(stderr, "onnxruntime: %s: %s\n", what, api->GetErrorMessage(status));
	api->ReleaseStatus(status);
	return 1;
}

/* A float32 tensor over a buffer of our own, shaped as the session declares (dynamic dimensions taken as 1). */
static int bind(OrtTypeInfo *type, const OrtMemoryInfo *memory, float **data, long *size, OrtValue **value)
{
	const OrtTensorTypeAndShapeInfo *tensor;
	int64_t dims[8];
	size_t rank, d;
	ONNXTensorElementDataType element;
	if (failed(api->CastTypeInfoToTensorInfo(type, &tensor), "CastTypeInfoToTensorInfo") || !tensor
	    || failed(api->GetTensorElementType(tensor, &element), "GetTensorElementType")
	    || failed(api->GetDimensionsCount(tensor, &rank), "GetDimensionsCount"))
		return 1;
	if (element != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || rank > 8) {
		fprintf(stderr, "onnxruntime harness: only float32 tensors of rank 8 or less are supported\n");
		return 1;
	}
	if (failed(api->GetDimensions(tensor, dims, rank), "GetDimensions"))
		return 1;
	*size = 1;
	for (d = 0; d < rank; ++d) {
		if (dims[d] < 1)
			dims[d] = 1;
		*size *= dims[d];
	}
	if (!(*data = calloc(*size, sizeof(float))))
		return 1;
	return failed(api->CreateTensorWithDataAsOrtValue(memory, *data, *size * sizeof(float), dims, rank, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, value), "CreateTensorWithDataAsOrtValue");
}

int engine_open(int argc, char **argv)
{
	OrtEnv *env;
	OrtSessionOptions *options;
	OrtAllocator *allocator;
	OrtMemoryInfo *memory;
	OrtTypeInfo *type;
	size_t i;
	int bad;
	if (argc != 2) {
		fprintf(stderr, "usage: %s MODEL.onnx < inputs-and-commands\n", argv[0]);
		return 1;
	}
	if (!(api = OrtGetApiBase()->GetApi(ORT_API_VERSION))) {
		fprintf(stderr, "onnxruntime %s does not offer C API version %d\n", OrtGetApiBase()->GetVersionString(), ORT_API_VERSION);
		return 1;
	}
	if (failed(api->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "bench", &env), "CreateEnv")
	    || failed(api->CreateSessionOptions(&options), "CreateSessionOptions")
	    || failed(api->SetIntraOpNumThreads(options, 1), "SetIntraOpNumThreads")
	    || failed(api->SetInterOpNumThreads(options, 1), "SetInterOpNumThreads")
	    || failed(api->SetSessionExecutionMode(options, ORT_SEQUENTIAL), "SetSessionExecutionMode")
	    || failed(api->SetSessionGraphOptimizationLevel(options, ORT_ENABLE_ALL), "SetSessionGraphOptimizationLevel")
	    || failed(api->CreateSession(env, argv[1], options, &session), argv[1])
	    || failed(api->GetAllocatorWithDefaultOptions(&allocator), "GetAllocatorWithDefaultOptions")
	    || failed(api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &memory), "CreateCpuMemoryInfo")
	    || failed(api->SessionGetInputCount(session, &input_count), "SessionGetInputCount")
	    || failed(api->SessionGetOutputCount(session, &output_count), "SessionGetOutputCount"))
		return 1;
	if (input_count > MAX_IO || output_count > MAX_IO) {
		fprintf(stderr, "%s: more than %d inputs or outputs\n", argv[1], MAX_IO);
		return 1;
	}
	for (i = 0; i < input_count; ++i) {
		if (failed(api->SessionGetInputName(session, i, allocator, &input_names[i]), "SessionGetInputName")
		    || failed(api->SessionGetInputTypeInfo(session, i, &type), "SessionGetInputTypeInfo"))
			return 1;
		bad = bind(type, memory, &input_data[i], &input_sizes[i], &inputs[i]);
		api->ReleaseTypeInfo(type);
		if (bad)
			return 1;
	}
	for (i = 0; i < output_count; ++i) {
		if (failed(api->SessionGetOutputName(session, i, allocator, &output_names[i]), "SessionGetOutputName")
		    || failed(api->SessionGetOutputTypeInfo(session, i, &type), "SessionGetOutputTypeInfo"))
			return 1;
		bad = bind(type, memory, &output_data[i], &output_sizes[i], &outputs[i]);
		api->ReleaseTypeInfo(type);
		if (bad)
			return 1;
	}
	return 0;
}

int engine_inputs(void) { return (int)input_count; }
long engine_input_size(int i) { return input_sizes[i]; }
float *engine_input(int i) { return input_data[i]; }
int engine_outputs(void) { return (int)output_count; }
long engine_output_size(int i) { return output_sizes[i]; }
const float *engine_output(int i) { return output_data[i]; }

int engine_run(void)
{
	return failed(api->Run(session, NULL, (const char *const *)input_names, (const OrtValue *const *)inputs, input_count,
			       (const char *const *)output_names, output_count, outputs), "Run");
}
