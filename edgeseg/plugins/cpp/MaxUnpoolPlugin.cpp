#include "MaxUnpoolPlugin.h"

#include <cstdint>
#include <cstring>
#include <exception>
#include <iostream>
#include <memory>

// The host launcher in edgeseg/plugins/max_unpool.cu.
extern "C" cudaError_t edgeseg_max_unpool_launch(int half, void const* values, void const* source, int total,
    int out_h, int out_w, int in_h, int in_w, int kh, int kw, void* out, cudaStream_t stream);

using namespace nvinfer1;

namespace edgeseg
{
namespace
{
void logError(char const* where, char const* what)
{
    std::cerr << "[edgeseg " << kPluginName << "] " << where << ": " << what << std::endl;
}
} // namespace

MaxUnpoolPlugin::MaxUnpoolPlugin(int32_t kernelH, int32_t kernelW)
    : mKernelH(kernelH)
    , mKernelW(kernelW)
{
    initFields();
}

MaxUnpoolPlugin::MaxUnpoolPlugin(MaxUnpoolPlugin const& other)
    : mKernelH(other.mKernelH)
    , mKernelW(other.mKernelW)
{
    initFields();  // the field list points into this object, never the copied one
}

void MaxUnpoolPlugin::initFields()
{
    mFields.clear();
    mFields.emplace_back("kernel_h", &mKernelH, PluginFieldType::kINT32, 1);
    mFields.emplace_back("kernel_w", &mKernelW, PluginFieldType::kINT32, 1);
    mFieldCollection.nbFields = static_cast<int32_t>(mFields.size());
    mFieldCollection.fields = mFields.data();
}

IPluginCapability* MaxUnpoolPlugin::getCapabilityInterface(PluginCapabilityType type) noexcept
{
    switch (type)
    {
    case PluginCapabilityType::kBUILD: return static_cast<IPluginV3OneBuild*>(this);
    case PluginCapabilityType::kRUNTIME: return static_cast<IPluginV3OneRuntime*>(this);
    case PluginCapabilityType::kCORE: return static_cast<IPluginV3OneCore*>(this);
    }
    return nullptr;
}

IPluginV3* MaxUnpoolPlugin::clone() noexcept
{
    try
    {
        return new MaxUnpoolPlugin(*this);
    }
    catch (std::exception const& e)
    {
        logError("clone", e.what());
    }
    return nullptr;
}

int32_t MaxUnpoolPlugin::configurePlugin(
    DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const* out, int32_t nbOutputs) noexcept
{
    return (nbInputs == 2 && nbOutputs == 1 && in[0].desc.dims.nbDims == 4 && in[1].desc.dims.nbDims == 4) ? 0 : -1;
}

bool MaxUnpoolPlugin::supportsFormatCombination(
    int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept
{
    // all three FP32 or all three FP16, linear (NCHW)
    PluginTensorDesc const& desc = inOut[pos].desc;
    bool const typeOk = pos == 0 ? (desc.type == DataType::kFLOAT || desc.type == DataType::kHALF)
                                 : desc.type == inOut[0].desc.type;
    return typeOk && desc.format == TensorFormat::kLINEAR;
}

int32_t MaxUnpoolPlugin::getOutputDataTypes(
    DataType* outputTypes, int32_t nbOutputs, DataType const* inputTypes, int32_t nbInputs) const noexcept
{
    if (nbOutputs != 1 || nbInputs != 2)
    {
        return -1;
    }
    outputTypes[0] = inputTypes[0];
    return 0;
}

int32_t MaxUnpoolPlugin::getOutputShapes(DimsExprs const* inputs, int32_t nbInputs, DimsExprs const* shapeInputs,
    int32_t nbShapeInputs, DimsExprs* outputs, int32_t nbOutputs, IExprBuilder& exprBuilder) noexcept
{
    if (nbInputs != 2 || nbOutputs != 1 || inputs[0].nbDims != 4 || inputs[1].nbDims != 4)
    {
        return -1;
    }
    // N, C of the values; H, W of the tensor that was pooled
    outputs[0].nbDims = 4;
    outputs[0].d[0] = inputs[0].d[0];
    outputs[0].d[1] = inputs[0].d[1];
    outputs[0].d[2] = inputs[1].d[2];
    outputs[0].d[3] = inputs[1].d[3];
    return 0;
}

int32_t MaxUnpoolPlugin::onShapeChange(
    PluginTensorDesc const* in, int32_t nbInputs, PluginTensorDesc const* out, int32_t nbOutputs) noexcept
{
    if (nbInputs != 2 || in[1].dims.d[2] / mKernelH != in[0].dims.d[2] || in[1].dims.d[3] / mKernelW != in[0].dims.d[3])
    {
        logError("onShapeChange", "values are not a kernel_h x kernel_w pooling of source");
        return -1;
    }
    return 0;
}

int32_t MaxUnpoolPlugin::enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const* outputDesc,
    void const* const* inputs, void* const* outputs, void* workspace, cudaStream_t stream) noexcept
{
    Dims const& in = inputDesc[0].dims;
    Dims const& out = outputDesc[0].dims;
    int64_t const total = static_cast<int64_t>(out.d[0]) * out.d[1] * out.d[2] * out.d[3];
    if (total > INT32_MAX)
    {
        logError("enqueue", "output larger than 2^31 elements");
        return -1;
    }
    int const half = inputDesc[0].type == DataType::kHALF ? 1 : 0;
    cudaError_t const err = edgeseg_max_unpool_launch(half, inputs[0], inputs[1], static_cast<int>(total),
        static_cast<int>(out.d[2]), static_cast<int>(out.d[3]), static_cast<int>(in.d[2]), static_cast<int>(in.d[3]),
        mKernelH, mKernelW, outputs[0], stream);
    if (err != cudaSuccess)
    {
        logError("enqueue", cudaGetErrorString(err));
        return -1;
    }
    return 0;
}

IPluginV3* MaxUnpoolPlugin::attachToContext(IPluginResourceContext* context) noexcept
{
    return clone();
}

PluginFieldCollection const* MaxUnpoolPlugin::getFieldsToSerialize() noexcept
{
    return &mFieldCollection;
}

MaxUnpoolPluginCreator::MaxUnpoolPluginCreator()
{
    mFields.emplace_back("kernel_h", nullptr, PluginFieldType::kINT32, 1);
    mFields.emplace_back("kernel_w", nullptr, PluginFieldType::kINT32, 1);
    mFieldCollection.nbFields = static_cast<int32_t>(mFields.size());
    mFieldCollection.fields = mFields.data();
}

IPluginV3* MaxUnpoolPluginCreator::createPlugin(char const* name, PluginFieldCollection const* fc, TensorRTPhase phase) noexcept
{
    try
    {
        int32_t kernelH = 2;
        int32_t kernelW = 2;
        for (int32_t i = 0; i < fc->nbFields; ++i)
        {
            PluginField const& f = fc->fields[i];
            if (f.type != PluginFieldType::kINT32 || f.length != 1)
            {
                continue;
            }
            if (std::strcmp(f.name, "kernel_h") == 0)
            {
                kernelH = *static_cast<int32_t const*>(f.data);
            }
            else if (std::strcmp(f.name, "kernel_w") == 0)
            {
                kernelW = *static_cast<int32_t const*>(f.data);
            }
        }
        if (kernelH < 1 || kernelW < 1)
        {
            logError("createPlugin", "kernel_h and kernel_w must be positive");
            return nullptr;
        }
        return new MaxUnpoolPlugin(kernelH, kernelW);
    }
    catch (std::exception const& e)
    {
        logError("createPlugin", e.what());
    }
    return nullptr;
}

} // namespace edgeseg

// Entry points of a TensorRT plugin library: IPluginRegistry::loadLibrary (Python:
// trt.get_plugin_registry().load_library) and `trtexec --dynamicPlugins=libedgeseg_trt_plugins.so`.
extern "C" void setLoggerFinder(nvinfer1::ILoggerFinder* finder) {}

extern "C" nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators)
{
    static edgeseg::MaxUnpoolPluginCreator creator;
    static nvinfer1::IPluginCreatorInterface* const creators[] = {&creator};
    nbCreators = 1;
    return creators;
}
