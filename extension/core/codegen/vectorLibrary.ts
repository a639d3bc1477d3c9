// The vector types generated float kernels compute with: GCC vector extensions as wide as the target's registers,
// 8 floats where the unit is compiled with AVX (the AVX2+FMA object of a kernel module, or -march=native) and 4
// otherwise (the SSE2 baseline). Each vectorised kernel is written once per width (perWidth) with every vector a
// named local, because GCC keeps neither wider-than-register vectors nor arrays of vectors in registers. Lane
// results do not depend on the width; only FMA contraction, where the target has it, changes the last bit.

/** Packed weights are padded to a multiple of this many floats, a whole vector at either width. */
export const VECTOR_WIDTH = 8;

export type Lanes = 8 | 4;

/** A kernel's lines for both widths, chosen by the preprocessor from the unit's target. */
export function perWidth(body: (lanes: Lanes) => string[]): string[] {
	return ["#if KNN_LANES == 8", ...body(8), "#else", ...body(4), "#endif"];
}

/** The typedefs and the helpers every vectorised kernel uses. */
export const VECTOR_PRELUDE = `#if defined(__AVX__)
#define KNN_LANES 8
typedef float knn_vf __attribute__((__vector_size__(32)));
/* Unaligned, aliasing any float: for loads and stores at any float address. */
typedef float knn_vfu __attribute__((__vector_size__(32), __aligned__(4), __may_alias__));
typedef int knn_vi __attribute__((__vector_size__(32)));
#define KNN_SPLAT(x) { x, x, x, x, x, x, x, x }
#else
#define KNN_LANES 4
typedef float knn_vf __attribute__((__vector_size__(16)));
typedef float knn_vfu __attribute__((__vector_size__(16), __aligned__(4), __may_alias__));
typedef int knn_vi __attribute__((__vector_size__(16)));
#define KNN_SPLAT(x) { x, x, x, x }
#endif
#define KNN_INLINE static inline __attribute__((__always_inline__))
#define knn_vload(p) (*(const knn_vfu *)(p))
#define knn_vstore(p, v) (*(knn_vfu *)(p) = (v))
KNN_INLINE knn_vf knn_splat(float x)
{
	const knn_vf v = KNN_SPLAT(x);
	return v;
}
/* mask ? a : b lane by lane, for a mask from a vector comparison (all ones or all zeros per lane). */
KNN_INLINE knn_vf knn_vselect(knn_vi mask, knn_vf a, knn_vf b)
{
	return (knn_vf)(((knn_vi)a & mask) | ((knn_vi)b & ~mask));
}
/* TensorFlow's a > b ? a : b and a < b ? a : b, so NaNs select as in the scalar code. */
KNN_INLINE knn_vf knn_vmax(knn_vf a, knn_vf b)
{
	return knn_vselect(a > b, a, b);
}
KNN_INLINE knn_vf knn_vmin(knn_vf a, knn_vf b)
{
	return knn_vselect(a < b, a, b);
}
/* The first n (0..KNN_LANES) lanes of v to p, the rest of p untouched. */
KNN_INLINE void knn_vstore_part(float *p, knn_vf v, int n)
{
	int j;
	for (j = 0; j < n; ++j)
		p[j] = v[j];
}
/* n (0..KNN_LANES) floats from p into the first lanes, zeros in the others. */
KNN_INLINE knn_vf knn_vload_part(const float *p, int n)
{
	knn_vf v = knn_splat(0.0f);
	int j;
	for (j = 0; j < n; ++j)
		v[j] = p[j];
	return v;
}`;
