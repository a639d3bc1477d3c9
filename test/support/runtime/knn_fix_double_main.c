// SPDX-License-Identifier: GPL-2.0
/* Fixture model for knn_core: output = 2 * input. */
#define KNN_FIX_NAME "fix_double"
#define KNN_FIX_FP knn_fix_double_fp
#include "knn_fix_model.h"
