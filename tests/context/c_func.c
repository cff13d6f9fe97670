#include <stdio.h>

int max(int a, int b) {$0
}
