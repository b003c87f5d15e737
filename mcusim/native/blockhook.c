/*
 * The emulator's per-block and per-access work in C, so that none of it calls Python in the hot
 * path: a UC_HOOK_BLOCK callback that counts instructions and cycles and checks the alignment of
 * multi-word accesses, a UC_HOOK_CODE callback for the accesses it cannot check on block entry, and
 * the private peripheral bus as Unicorn MMIO callbacks.
 *
 * Counting: an open-addressing hash table keyed by (block address, block size) holds each
 * translated block's costs: instruction count, cycles assuming the block falls through at its end,
 * and the extra cycles of leaving it by a taken branch. On entering a block the hook
 *   1. settles the previous block's exit: taken if this block does not start where that one ended.
 *      The extra cycles depend on that outcome and on a branch predictor kept per block: a 2-bit
 *      saturating counter for the direction and the last taken target (a branch target cache), so
 *      a taken exit counts as predicted only when the counter says taken and the target repeats.
 *      On a core without a predictor the table holds equal costs for both predictions.
 *   2. adds this block's instruction and cycle counts, and the stalls of the memory system:
 *      a. instruction fetch: each flash line the block spans, unless it is the line last fetched
 *         and the block follows on without a taken branch, is looked up in the instruction cache;
 *         a miss costs the flash wait states, unless a prefetcher read the line ahead (the line
 *         after the one fetched last, reached without a taken branch);
 *      b. data reads: the block's loads whose address is known on entry (`reads`, from `miss`:
 *         base register + index register << shift + offset, the registers as they are on entry)
 *         that read flash are looked up in the data cache, a miss per line costing the wait states.
 *      Caches are set associative with least-recently-used replacement; one with no sets is off
 *      and every access misses. There is nothing per access: loads are looked at on block entry.
 *   3. prices what depends on the registers and on the block before (dual issue, Cortex-M7):
 *      a. loads that pair when they read different 32-bit banks: for each of up to MAX_BANK_PAIRS
 *         pairs of `reads`, whether their addresses on entry differ in bit 2 selects one of the
 *         block's cycle counts (`bank_delta`);
 *      b. a block entered right behind another, with no exit cycles between them (a fall-through,
 *         or a predicted branch), can stall on, or pair with, what the blocks before left in
 *         flight: `edge` (a Python function) prices it behind its predecessor, and behind the
 *         block before that when that one too was left with no exit cycles (a window of three
 *         blocks, so that a latency reaches across a short block, such as the one instruction
 *         that straddles a page boundary). Each block keeps the price of its last such successor
 *         per exit (fall-through, taken) with the window it was priced in.
 * On a miss it calls `miss` (a Python function, once per distinct block), which decodes the block
 * with capstone and fills in the costs. Per-block hit counts and exit cycles feed the profile.
 *
 * Alignment: ARMv7-M's LDRD, STRD, LDM, STM, LDREX(H), STREX(H), VLDR, VSTR, VLDM and VSTM fault on
 * an unaligned address whatever CCR.UNALIGN_TRP says; Unicorn runs them. `miss` lists the block's
 * such accesses whose base register still holds its value from the block's entry (their offsets
 * are multiples of 4, so the base's alignment is the address's): the hook checks those on entry,
 * before any instruction of the block runs. For each other one `miss` adds a UC_HOOK_CODE on the
 * instruction (mcusim_alignment_hook) and answers MISS_RETRANSLATE: the block's translation is
 * dropped and emulation stops before the block runs, to be restarted there.
 *
 * The hook stops emulation with uc_emu_stop (passed in as a pointer, so that this file needs no
 * Unicorn headers or library at build time) and says why in `stop`: the instruction budget is
 * spent, the wall-clock deadline has passed (looked at every CLOCK_BLOCKS blocks), an access is
 * unaligned, a block must be translated again, or `miss` failed.
 *
 * This file is built as a plain shared library (loaded with ctypes); it is not a Python module.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    uint32_t pc;      /* the access */
    int32_t reg;      /* Unicorn id of its base register */
    uint32_t offset;  /* address = base + offset */
    uint32_t mask;    /* bits that must be clear in the address: 3 (words), 1 (halfwords) */
} mcusim_check;

/* A load whose address is known on its block's entry. */
typedef struct {
    int32_t base;     /* Unicorn id of the base register; -1: none, the address is `offset` */
    int32_t index;    /* Unicorn id of the index register; -1: none */
    uint32_t offset;
    uint8_t shift;    /* of the index */
    uint8_t reserved;
    uint16_t bytes;   /* bytes read */
} mcusim_read;

#define MAX_BANK_PAIRS 3

/* A block entered right behind another with no exit cycles, the block before that one (`from`, when
 * it too was left with no exit cycles; size 0: none), and what that adds to its cycles. */
typedef struct {
    uint32_t addr;
    uint32_t size;         /* 0: none yet */
    uint32_t from_addr;
    uint32_t from_size;
    int32_t adjust;
} mcusim_successor;

typedef struct {
    uint32_t addr;
    uint32_t size;         /* 0 marks an empty slot: Unicorn never reports empty blocks */
    uint32_t insns;
    uint32_t cycles;       /* falling through at the end */
    uint8_t exit[4];       /* extra cycles of the exit, indexed by taken << 1 | predicted taken:
                              [0] fall-through as predicted (always 0), [1] fall-through predicted
                              taken, [2] taken predicted not taken, [3] taken as predicted */
    uint8_t counter;       /* 2-bit saturating predictor state: >= 2 predicts taken */
    uint8_t n_checks;
    uint8_t n_reads;
    uint8_t n_banks;       /* pairs of loads that pair when their banks differ */
    uint32_t last_target;  /* where the last taken exit went */
    uint8_t banks[MAX_BANK_PAIRS][2];  /* each pair's indices in `reads` */
    int8_t bank_delta[1 << MAX_BANK_PAIRS];  /* cycles added when the pairs whose bits are set pair */
    uint8_t reserved[2];
    mcusim_successor next[2];  /* [taken]: the last block entered behind this one with no exit cycles */
    const mcusim_check *checks;  /* made on entry; owned by the caller of `miss` */
    const mcusim_read *reads;    /* looked at on entry; owned by the caller of `miss` */
    uint64_t hits;         /* times entered */
    uint64_t exit_cycles;  /* extra exit cycles charged to this block */
    uint64_t stall_cycles; /* memory stalls charged to this block */
    int64_t pipeline_cycles; /* bank and edge cycles charged to this block */
} mcusim_block;

typedef struct {
    uint32_t *lines;       /* sets * ways slots, each set most recently used first: line number + 1, 0 empty */
    uint32_t sets;         /* a power of two; 0: no cache, every access misses */
    uint32_t ways;
    uint64_t hits;
    uint64_t misses;
} mcusim_cache;

typedef struct {
    uint32_t flash_base;
    uint32_t flash_size;
    uint32_t wait_states;  /* cycles a line read from flash adds */
    uint32_t line_shift;   /* log2 of the flash line, which is the caches' line */
    uint32_t fetch_line;   /* line number + 1 of the instruction line fetched last; 0: none */
    uint32_t prefetch;     /* 1: the line after the one fetched last has been read ahead (ST's ART) */
    mcusim_cache icache;
    mcusim_cache dcache;
    uint64_t fetch_stall;  /* cycles */
    uint64_t data_stall;
} mcusim_memory;

enum { MISS_OK, MISS_FAILED, MISS_RETRANSLATE };
enum { STOP_NONE, STOP_BUDGET, STOP_DEADLINE, STOP_UNALIGNED, STOP_RETRANSLATE, STOP_MISS_FAILED };
#define CLOCK_BLOCKS 65536u

typedef int (*mcusim_miss_fn)(void *uc, uint32_t addr, uint32_t size, mcusim_block *block);
typedef int (*mcusim_stop_fn)(void *uc);
typedef int (*mcusim_reg_read_fn)(void *uc, int regid, void *value);
typedef int (*mcusim_edge_fn)(void *uc, uint32_t from_addr, uint32_t from_size, uint32_t addr, uint32_t size,
                              uint32_t next_addr, uint32_t next_size, int32_t *adjust);

typedef struct {
    uint64_t instructions;
    uint64_t cycles;
    uint64_t budget;       /* stop once instructions > budget */
    uint64_t deadline_ns;  /* CLOCK_MONOTONIC time to stop at; 0: none */
    uint32_t stop;         /* STOP_*: why the hook stopped emulation */
    uint32_t last_block;   /* address of the block entered last, or of the one to translate again */
    uint32_t fault_pc;     /* STOP_UNALIGNED: the access and its address */
    uint32_t fault_address;
    uint32_t clock_countdown;
    uint32_t capacity;     /* power of two */
    uint32_t used;
    mcusim_block *prev;    /* the block entered last; NULL after a reset */
    uint32_t from_addr;    /* the block before `prev`, when `prev` was entered with no exit cycles */
    uint32_t from_size;    /* 0: none */
    mcusim_block *table;
    mcusim_miss_fn miss;
    mcusim_stop_fn stop_fn;
    mcusim_reg_read_fn reg_read;
    mcusim_memory *memory; /* NULL: flash costs nothing */
    mcusim_edge_fn edge;   /* NULL: blocks are priced alone */
} mcusim_counter;

/* The user data of an alignment UC_HOOK_CODE: the access it checks each time it runs. */
typedef struct {
    mcusim_counter *counter;
    mcusim_check check;
} mcusim_site;

static void stop(mcusim_counter *c, void *uc, uint32_t why)
{
    c->stop = why;
    c->stop_fn(uc);
}

/* Linear probing from the halfword address: blocks lie in a few kilobytes of code, so the plain
 * address spreads them well, and it costs no multiply on the hot path. */
static uint32_t probe(const mcusim_block *table, uint32_t mask, uint32_t addr, uint32_t size)
{
    uint32_t i = (addr >> 1) & mask;
    while (table[i].size != 0 && (table[i].addr != addr || table[i].size != size)) {
        i = (i + 1) & mask;
    }
    return i;
}

static int grow(mcusim_counter *c)
{
    uint32_t capacity = c->capacity ? c->capacity * 2 : 4096;
    mcusim_block *table = calloc(capacity, sizeof *table);
    if (table == NULL) {
        return -1;
    }
    mcusim_block *prev = NULL;
    for (uint32_t i = 0; i < c->capacity; i++) {
        if (c->table[i].size != 0) {
            uint32_t j = probe(table, capacity - 1, c->table[i].addr, c->table[i].size);
            table[j] = c->table[i];
            if (&c->table[i] == c->prev) {
                prev = &table[j];
            }
        }
    }
    free(c->table);
    c->table = table;
    c->capacity = capacity;
    c->prev = prev;
    return 0;
}

/* First sight of a block: make room, then have Python decode and price it. NULL, with emulation
 * stopped, when the block is not to run now. Kept out of line so that the hot path needs few
 * registers. */
__attribute__((noinline, cold)) static mcusim_block *insert(mcusim_counter *c, void *uc, uint32_t addr,
                                                             uint32_t size)
{
    if (c->used * 2 >= c->capacity && grow(c) != 0) {
        stop(c, uc, STOP_MISS_FAILED);
        return NULL;
    }
    mcusim_block *b = &c->table[probe(c->table, c->capacity - 1, addr, size)];
    b->addr = addr;
    b->size = size;
    int status = c->miss(uc, addr, size, b);
    if (status != MISS_OK) {
        memset(b, 0, sizeof *b);
        c->last_block = addr;
        stop(c, uc, status == MISS_RETRANSLATE ? STOP_RETRANSLATE : STOP_MISS_FAILED);
        return NULL;
    }
    c->used++;
    return b;
}

static int misaligned(mcusim_counter *c, void *uc, const mcusim_check *k)
{
    uint64_t base = 0;
    c->reg_read(uc, k->reg, &base);
    uint32_t address = (uint32_t)base + k->offset;
    if ((address & k->mask) == 0) {
        return 0;
    }
    c->fault_pc = k->pc;
    c->fault_address = address;
    stop(c, uc, STOP_UNALIGNED);
    return 1;
}

__attribute__((noinline)) static int check_entry(mcusim_counter *c, void *uc, const mcusim_block *b)
{
    for (uint32_t i = 0; i < b->n_checks; i++) {
        if (misaligned(c, uc, &b->checks[i])) {
            return 1;
        }
    }
    return 0;
}

/* Look `line` up in `k`, making it the most recently used line of its set; 1 on a miss. */
static uint32_t cache_access(mcusim_cache *k, uint32_t line)
{
    if (k->sets == 0) {
        k->misses++;
        return 1;
    }
    uint32_t *set = k->lines + (line & (k->sets - 1)) * k->ways;
    if (set[0] == line + 1) { /* the line used last in its set: most lookups of a loop */
        k->hits++;
        return 0;
    }
    uint32_t i = 1;
    while (i < k->ways && set[i] != line + 1) {
        i++;
    }
    uint32_t miss = i == k->ways;
    i -= miss;
    memmove(set + 1, set, i * sizeof *set);
    set[0] = line + 1;
    k->hits += !miss;
    k->misses += miss;
    return miss;
}

/* The addresses of block `b`'s reads, from the registers on entry. */
__attribute__((noinline)) static void read_addresses(mcusim_counter *c, void *uc, const mcusim_block *b,
                                                     uint32_t *addresses)
{
    for (uint32_t i = 0; i < b->n_reads; i++) {
        const mcusim_read *r = &b->reads[i];
        uint64_t base = 0, index = 0;
        if (r->base >= 0) {
            c->reg_read(uc, r->base, &base);
        }
        if (r->index >= 0) {
            c->reg_read(uc, r->index, &index);
        }
        addresses[i] = (uint32_t)base + ((uint32_t)index << r->shift) + r->offset;
    }
}

/* Stall cycles of fetching block `b` (entered by a taken branch or not; `again`: from itself, a
 * one-block loop) and of its flash reads, at `addresses`. */
__attribute__((noinline)) static uint32_t memory_stall(mcusim_counter *c, mcusim_block *b, uint32_t taken,
                                                       uint32_t again, const uint32_t *addresses)
{
    mcusim_memory *m = c->memory;
    uint32_t fetch = 0, data = 0;
    if (b->addr - m->flash_base < m->flash_size) {
        uint32_t line = b->addr >> m->line_shift, last = (b->addr + b->size - 1) >> m->line_shift;
        line += !taken && line + 1 == m->fetch_line;
        if (again && m->icache.sets != 0) {
            /* its lines were just looked up, in this order: all hit and the cache is left as it is */
            m->icache.hits += last + 1 - line;
        } else {
            /* a miss on the line that follows the one fetched last, reached without a taken branch,
             * was read ahead by the prefetcher: no stall */
            uint32_t ahead = m->prefetch && !taken && line == m->fetch_line;
            for (; line <= last; line++) {
                fetch += cache_access(&m->icache, line) & !ahead;
                ahead = m->prefetch;
            }
        }
        m->fetch_line = last + 1;
    }
    for (uint32_t i = 0; i < b->n_reads; i++) {
        uint32_t address = addresses[i];
        if (address - m->flash_base < m->flash_size) {
            uint32_t last = (address + b->reads[i].bytes - 1) >> m->line_shift;
            for (uint32_t line = address >> m->line_shift; line <= last; line++) {
                data += cache_access(&m->dcache, line);
            }
        }
    }
    fetch *= m->wait_states;
    data *= m->wait_states;
    m->fetch_stall += fetch;
    m->data_stall += data;
    b->stall_cycles += fetch + data;
    return fetch + data;
}

/* Price entering block `b` right behind `p` (and the counter's `from` before it) into `s`, p's
 * successor slot; nonzero, with emulation stopped, when `edge` failed. */
__attribute__((noinline, cold)) static int learn_edge(mcusim_counter *c, void *uc, const mcusim_block *p,
                                                      const mcusim_block *b, mcusim_successor *s)
{
    int32_t adjust = 0;
    if (c->edge(uc, c->from_addr, c->from_size, p->addr, p->size, b->addr, b->size, &adjust) != MISS_OK) {
        c->last_block = b->addr;
        stop(c, uc, STOP_MISS_FAILED);
        return 1;
    }
    s->addr = b->addr;
    s->size = b->size;
    s->from_addr = c->from_addr;
    s->from_size = c->from_size;
    s->adjust = adjust;
    return 0;
}

__attribute__((noinline, cold)) static void check_clock(mcusim_counter *c, void *uc)
{
    struct timespec now;
    c->clock_countdown = CLOCK_BLOCKS;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (c->deadline_ns && (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec >= c->deadline_ns) {
        stop(c, uc, STOP_DEADLINE);
    }
}

void mcusim_block_hook(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    /* Branch-free where it can be: the outcome pattern of guest branches would defeat the
     * host's branch predictor. */
    static const uint8_t next_state[2][4] = {{0, 0, 1, 2}, {1, 2, 3, 3}};
    mcusim_counter *c = user_data;
    uint32_t addr = (uint32_t)address;
    mcusim_block *b = c->capacity ? &c->table[probe(c->table, c->capacity - 1, addr, size)] : NULL;
    if (__builtin_expect(b == NULL || b->size == 0, 0)) {
        b = insert(c, uc, addr, size);
        if (b == NULL) {
            return;
        }
    }
    if (__builtin_expect(b->n_checks != 0, 0) && check_entry(c, uc, b)) {
        return;
    }
    uint32_t extra = 0, taken = 1;
    int32_t pipeline = 0;
    mcusim_block *p = c->prev;
    if (p != NULL) {
        taken = addr != p->addr + p->size;
        uint32_t hit = (p->counter >> 1) & (!taken | (addr == p->last_target));
        extra = p->exit[taken << 1 | hit];
        p->exit_cycles += extra;
        p->counter = next_state[taken][p->counter];
        p->last_target = taken ? addr : p->last_target;
        mcusim_successor *s = &p->next[taken];
        if (extra == 0 && c->edge != NULL) {
            if ((s->addr != addr || s->size != size || s->from_addr != c->from_addr || s->from_size != c->from_size)
                && learn_edge(c, uc, p, b, s)) {
                return;
            }
            pipeline = s->adjust;
        }
        c->from_addr = extra == 0 ? p->addr : 0;
        c->from_size = extra == 0 ? p->size : 0;
    }
    if (c->memory != NULL || b->n_banks != 0) {
        uint32_t addresses[256];
        read_addresses(c, uc, b, addresses);
        if (c->memory != NULL) {
            extra += memory_stall(c, b, taken, p == b, addresses);
        }
        uint32_t differ = 0;
        for (uint32_t i = 0; i < b->n_banks; i++) {
            differ |= ((addresses[b->banks[i][0]] ^ addresses[b->banks[i][1]]) >> 2 & 1) << i;
        }
        pipeline += b->bank_delta[differ];
    }
    b->pipeline_cycles += pipeline;
    c->prev = b;
    c->last_block = addr;
    b->hits++;
    /* One update of each total per block: a narrow store followed by the wide (vectorized) load
     * of both totals would defeat store-to-load forwarding. */
    c->instructions += b->insns;
    c->cycles += b->cycles + extra + (int64_t)pipeline;
    if (__builtin_expect(c->instructions > c->budget, 0) && c->stop == STOP_NONE) {
        stop(c, uc, STOP_BUDGET);
    }
    if (__builtin_expect(--c->clock_countdown == 0, 0)) {
        check_clock(c, uc);
    }
}

void mcusim_alignment_hook(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    (void)address, (void)size;
    mcusim_site *s = user_data;
    misaligned(s->counter, uc, &s->check);
}

void mcusim_counter_free(mcusim_counter *c)
{
    free(c->table);
    c->table = NULL;
    c->capacity = c->used = 0;
    c->prev = NULL;
}

/*
 * The private peripheral bus (0xE0000000..0xE00FFFFF), mirror of
 * mcusim.peripherals.PrivatePeripheralBus: the ITM stimulus ports always ready (a write to a port
 * set in `forward` is passed to `itm`, a Python function; others are dropped), ITM TER and TCR all
 * enabled, DWT->CYCCNT the modelled count, SCB->CPUID the core's, every other register a plain
 * store that reads back what was written.
 */
#define PPB_SIZE 0x100000u
#define ITM_PORTS_END 0x80u
#define ITM_TER 0xE00u
#define ITM_TCR 0xE80u
#define DWT_CYCCNT 0x1004u
#define SCB_CPUID 0xED00u

typedef void (*mcusim_itm_fn)(uint32_t port, uint32_t size, uint32_t value);

typedef struct {
    const mcusim_counter *counter;
    uint32_t cpuid;
    uint32_t cyccnt_offset;  /* CYCCNT = cycles - cyccnt_offset (mod 2^32) */
    uint32_t forward;        /* bit p: pass writes to stimulus port p to `itm` */
    mcusim_itm_fn itm;
    uint8_t *regs;           /* PPB_SIZE bytes */
} mcusim_ppb;

int mcusim_ppb_init(mcusim_ppb *p)
{
    p->regs = calloc(PPB_SIZE, 1);
    return p->regs == NULL ? -1 : 0;
}

void mcusim_ppb_free(mcusim_ppb *p)
{
    free(p->regs);
    p->regs = NULL;
}

uint64_t mcusim_ppb_read(void *uc, uint64_t offset, unsigned size, void *user_data)
{
    (void)uc;
    const mcusim_ppb *p = user_data;
    if (offset < ITM_PORTS_END) {
        return 1;
    }
    switch (offset) {
    case ITM_TER:
        return 0xFFFFFFFFu;
    case ITM_TCR:
        return 1;
    case DWT_CYCCNT:
        return (uint32_t)p->counter->cycles - p->cyccnt_offset;
    case SCB_CPUID:
        return p->cpuid;
    }
    uint64_t value = 0;
    if (size <= sizeof value && offset + size <= PPB_SIZE) {
        memcpy(&value, p->regs + offset, size);
    }
    return value;
}

void mcusim_ppb_write(void *uc, uint64_t offset, unsigned size, uint64_t value, void *user_data)
{
    (void)uc;
    mcusim_ppb *p = user_data;
    if (offset < ITM_PORTS_END) {
        uint32_t port = (uint32_t)offset / 4;
        if (offset % 4 == 0 && (p->forward >> port) & 1) { /* a write inside a port's word is ignored */
            p->itm(port, size, (uint32_t)value);
        }
    } else if (offset == DWT_CYCCNT) {
        p->cyccnt_offset = (uint32_t)p->counter->cycles - (uint32_t)value;
    } else if (offset != SCB_CPUID && size <= sizeof value && offset + size <= PPB_SIZE) {
        memcpy(p->regs + offset, &value, size);
    }
}
