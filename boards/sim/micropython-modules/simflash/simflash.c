// simflash: the sim board's flash image file mapped into the address space, for the Unix
// port builds with the firmware frozen in (host/firmware/build.py adds this folder as
// USER_C_MODULES). The PyPI Unix port runs inside CPython, which maps the file and hands
// the firmware its address (host/sim/power.py); a binary of its own maps it here.
//
// simflash.map(path, size) -> bytearray over the file's bytes, mapped shared: what the
// firmware writes into it is in the file at once (the kernel's page cache), so it
// survives the process being killed, as a NOR chip keeps what was programmed before the
// power went. The bytes are outside the MicroPython heap and stay mapped until the
// process ends (a board's flash is not unmapped either).
//
// simflash.BlockReader(memory, block_size): a callable ``(block, buf, offset=0)`` that
// fills buf from memory[block * block_size + offset:], the block protocol's readblocks
// in machine code. LittleFS reads its 128-byte cache about 140 times to save one record;
// through a Python readblocks those calls were most of a save's time. Reads neither
// wear the chip nor fail when the power is cut, so the Python device keeps the rest:
// programs, erases, their counts and the cut (boards/sim/blockdev.py).
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "py/runtime.h"

static mp_obj_t simflash_map(mp_obj_t path_in, mp_obj_t size_in) {
    const char *path = mp_obj_str_get_str(path_in);
    mp_int_t size = mp_obj_get_int(size_in);
    if (size <= 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("size must be positive"));
    }
    int fd = open(path, O_RDWR);
    if (fd < 0) {
        mp_raise_OSError(errno);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        mp_raise_OSError(err);
    }
    if (st.st_size != size) {
        close(fd);
        mp_raise_ValueError(MP_ERROR_TEXT("the file is not the flash's size"));
    }
    void *mem = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int err = errno;
    close(fd);  // the mapping keeps the file
    if (mem == MAP_FAILED) {
        mp_raise_OSError(err);
    }
    return mp_obj_new_bytearray_by_ref((size_t)size, mem);
}
static MP_DEFINE_CONST_FUN_OBJ_2(simflash_map_obj, simflash_map);

typedef struct {
    mp_obj_base_t base;
    mp_obj_t memory;        // kept referenced: the bytes below are its
    const uint8_t *bytes;
    size_t len;
    size_t block_size;
} block_reader_t;

static mp_obj_t block_reader_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
    const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 2, 2, false);
    mp_buffer_info_t info;
    mp_get_buffer_raise(args[0], &info, MP_BUFFER_READ);
    mp_int_t block_size = mp_obj_get_int(args[1]);
    if (block_size <= 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("block_size must be positive"));
    }
    block_reader_t *self = mp_obj_malloc(block_reader_t, type);
    self->memory = args[0];
    self->bytes = info.buf;
    self->len = info.len;
    self->block_size = (size_t)block_size;
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t block_reader_call(mp_obj_t self_in, size_t n_args, size_t n_kw,
    const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 2, 3, false);
    block_reader_t *self = MP_OBJ_TO_PTR(self_in);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[1], &buf, MP_BUFFER_WRITE);
    mp_int_t block = mp_obj_get_int(args[0]);
    mp_int_t offset = n_args == 3 ? mp_obj_get_int(args[2]) : 0;
    if (block < 0 || offset < 0 || (size_t)block >= self->len / self->block_size
        || (size_t)offset > self->len - (size_t)block * self->block_size
        || buf.len > self->len - (size_t)block * self->block_size - (size_t)offset) {
        mp_raise_ValueError(MP_ERROR_TEXT("read outside the device"));
    }
    memcpy(buf.buf, self->bytes + (size_t)block * self->block_size + (size_t)offset, buf.len);
    return MP_OBJ_NEW_SMALL_INT(0);
}

static MP_DEFINE_CONST_OBJ_TYPE(
    block_reader_type,
    MP_QSTR_BlockReader,
    MP_TYPE_FLAG_NONE,
    make_new, block_reader_make_new,
    call, block_reader_call
    );

static const mp_rom_map_elem_t simflash_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_simflash) },
    { MP_ROM_QSTR(MP_QSTR_map), MP_ROM_PTR(&simflash_map_obj) },
    { MP_ROM_QSTR(MP_QSTR_BlockReader), MP_ROM_PTR(&block_reader_type) },
};
static MP_DEFINE_CONST_DICT(simflash_globals, simflash_globals_table);

const mp_obj_module_t simflash_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&simflash_globals,
};

MP_REGISTER_MODULE(MP_QSTR_simflash, simflash_module);
