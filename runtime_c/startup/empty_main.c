/* main() for firmware that the host drives function by function (Emulator.call): it does nothing. */
int main(void) { return 0; }
