/* start-up: does nothing, exits 0. */
int main(void) { return 0; }
