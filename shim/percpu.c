/* The per-CPU array and the online mask. */
#include <minishim/percpu.h>

struct percpu percpu[NR_CPUS];
cpumask_t cpu_online_mask;
unsigned int nr_cpus_possible = 1;
