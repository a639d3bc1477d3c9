// SPDX-License-Identifier: GPL-2.0
/* The FP unit of knn_fix_double: output = 2 * input. Includes no kernel header. */
void knn_fix_double_fp(const float *input, float *output, int count);

void knn_fix_double_fp(const float *input, float *output, int count)
{
	int i;

	for (i = 0; i < count; i++)
		output[i] = 2.0f * input[i];
}
