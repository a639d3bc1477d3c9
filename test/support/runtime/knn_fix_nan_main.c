// SPDX-License-Identifier: GPL-2.0
/* Fixture model for knn_core: output = 3 * input, NaN in output[0] when input[0] > 100. */
#define KNN_FIX_NAME "fix_nan"
#define KNN_FIX_FP knn_fix_nan_fp
#include "knn_fix_model.h"
