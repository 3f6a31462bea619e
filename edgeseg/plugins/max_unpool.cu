// MaxUnpoolFromSource: the one CUDA C kernel behind edgeseg's TensorRT max-unpool plugin.
//
// out[n, c, y, x] = values[n, c, y / kh, x / kw] if (y, x) is the first maximum, in row-major
// window order, of source's kh x kw window (y / kh, x / kw); 0 otherwise, and 0 for rows and
// columns past the last full window. Semantics and the index convention: edgeseg/plugins/__init__.py;
// reference: edgeseg/plugins/reference.py.
//
// One thread per output element: writes are coalesced and no zero-fill pass is needed; each
// window is re-read by its kh * kw threads, from cache.
//
// Compiled three ways: to PTX by NVRTC or nvcc for the tensorrt.plugin AOT path (TensorRT
// launches the extern "C" entries with inputs, then the int32 extra arguments, then outputs);
// and into libedgeseg_trt_plugins.so with the host launcher below (plugins/cpp). No headers in
// device code, so NVRTC needs none: half-precision values are moved as raw 16-bit words and
// converted to float only for comparison.

typedef unsigned short half_bits;

__host__ __device__ __forceinline__ float as_float(float v) { return v; }

__device__ __forceinline__ float as_float(half_bits v)
{
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(v));
    return f;
}

// The value of output element i (flat NCHW index). __host__ too, so the test suite can run this
// exact code on a CPU for fp32 (tests/plugins/test_kernel_source.py).
template <typename T>
__host__ __device__ __forceinline__ T max_unpool_element(T const* __restrict__ values, T const* __restrict__ source,
    int i, int out_h, int out_w, int in_h, int in_w, int kh, int kw)
{
    int const x = i % out_w;
    int const y = (i / out_w) % out_h;
    int const plane = i / (out_w * out_h);  // n * C + c
    int const wy = y / kh;
    int const wx = x / kw;
    if (wy >= in_h || wx >= in_w)
    {
        return T(0);
    }
    T const* window = source + (static_cast<long long>(plane) * out_h + wy * kh) * out_w + wx * kw;
    int best = 0;
    float best_value = as_float(window[0]);
    for (int dy = 0; dy < kh; ++dy)
    {
        for (int dx = 0; dx < kw; ++dx)
        {
            float const v = as_float(window[dy * out_w + dx]);
            if (v > best_value)  // strict: the first maximum wins ties
            {
                best_value = v;
                best = dy * kw + dx;
            }
        }
    }
    if (best != (y - wy * kh) * kw + (x - wx * kw))
    {
        return T(0);
    }
    return values[(static_cast<long long>(plane) * in_h + wy) * in_w + wx];
}

template <typename T>
__device__ __forceinline__ void max_unpool(T const* __restrict__ values, T const* __restrict__ source, int total,
    int out_h, int out_w, int in_h, int in_w, int kh, int kw, T* __restrict__ out)
{
    int const i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < total)
    {
        out[i] = max_unpool_element(values, source, i, out_h, out_w, in_h, in_w, kh, kw);
    }
}

extern "C" __global__ void edgeseg_max_unpool_f32(float const* values, float const* source, int total, int out_h,
    int out_w, int in_h, int in_w, int kh, int kw, float* out)
{
    max_unpool<float>(values, source, total, out_h, out_w, in_h, in_w, kh, kw, out);
}

extern "C" __global__ void edgeseg_max_unpool_f16(half_bits const* values, half_bits const* source, int total,
    int out_h, int out_w, int in_h, int in_w, int kh, int kw, half_bits* out)
{
    max_unpool<half_bits>(values, source, total, out_h, out_w, in_h, in_w, kh, kw, out);
}

#ifndef __CUDACC_RTC__
#include <cuda_runtime.h>

// Host launcher for the C++ plugin: fp16 when `half` is nonzero, else fp32.
extern "C" cudaError_t edgeseg_max_unpool_launch(int half, void const* values, void const* source, int total,
    int out_h, int out_w, int in_h, int in_w, int kh, int kw, void* out, cudaStream_t stream)
{
    int const block = 256;
    int const grid = (total + block - 1) / block;
    if (total == 0)
    {
        return cudaSuccess;
    }
    if (half)
    {
        edgeseg_max_unpool_f16<<<grid, block, 0, stream>>>(static_cast<half_bits const*>(values),
            static_cast<half_bits const*>(source), total, out_h, out_w, in_h, in_w, kh, kw, static_cast<half_bits*>(out));
    }
    else
    {
        edgeseg_max_unpool_f32<<<grid, block, 0, stream>>>(static_cast<float const*>(values),
            static_cast<float const*>(source), total, out_h, out_w, in_h, in_w, kh, kw, static_cast<float*>(out));
    }
    return cudaGetLastError();
}
#endif
