// Deliberately does not compile: OpenClDeviceTest checks that the build log reaches the exception.
kernel void broken(global float* x) { x[0] = undeclared_identifier; }
