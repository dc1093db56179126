#pragma once
// PIXREP_STEP(Class) exports a plugin's factory and the ABI it was built for under fixed
// aliases, so plugin authors never write extern "C" by hand.
#include <memory>

#include <boost/dll/alias.hpp>

#include <pixrep/step.hpp>

#ifndef PIXREP_STEP_ABI_STAMP
/// ABI number stamped into the plugin; only purpose-built broken test plugins override it.
#define PIXREP_STEP_ABI_STAMP ::pixrep::kStepAbiVersion
#endif

/// Exports `create_step` (a factory of Class) and `step_abi_version` from this shared library.
#define PIXREP_STEP(Class)                                                                   \
    namespace pixrep_export {                                                               \
    inline std::unique_ptr<::pixrep::Step> create_step_impl() { return std::make_unique<Class>(); } \
    inline int step_abi_version_impl() { return PIXREP_STEP_ABI_STAMP; }                    \
    }                                                                                        \
    BOOST_DLL_ALIAS(pixrep_export::create_step_impl, create_step)                           \
    BOOST_DLL_ALIAS(pixrep_export::step_abi_version_impl, step_abi_version)
