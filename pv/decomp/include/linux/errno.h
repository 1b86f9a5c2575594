#include <decomp_compat.h>
