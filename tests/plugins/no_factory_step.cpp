// Purpose-built broken plugin: a shared library that exports no step factory.
extern "C" __attribute__((visibility("default"))) int not_a_step() { return 42; }
