/*
 * The image has no heap. newlib-nano's printf core still references malloc
 * (only for streams that grow, like asprintf's), so the linker wants the
 * one system call behind it. Ours refuses: any malloc returns NULL, and the
 * boot proves that nothing needed one.
 */
#include <errno.h>
#include <stddef.h>

void *_sbrk(ptrdiff_t increment);

void *
_sbrk(ptrdiff_t increment)
{
    (void)increment;
    errno = ENOMEM;
    return (void *)-1;
}
