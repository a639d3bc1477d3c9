// SPDX-License-Identifier: GPL-2.0
/* The FP unit of knn_fix_nan: output = 3 * input, but output[0] is NaN when input[0] > 100. */
void knn_fix_nan_fp(const float *input, float *output, int count);

void knn_fix_nan_fp(const float *input, float *output, int count)
{
	int i;

	for (i = 0; i < count; i++)
		output[i] = 3.0f * input[i];
	if (input[0] > 100.0f)
		output[0] = __builtin_nanf("");
}
