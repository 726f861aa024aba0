// Serial HDF5 through pkg-config "hdf5-serial" (Debian: libhdf5-dev).
// HDF5 exposes its type and property-list ids as macros over globals
// (e.g. #define H5T_NATIVE_UINT16 (H5OPEN H5T_NATIVE_UINT16_g)); Swift cannot
// import those, so these static inline accessors return them.
#include <hdf5.h>

static inline hid_t zh5_t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t zh5_t_native_uint16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t zh5_t_native_uint32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t zh5_t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t zh5_t_native_uint64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t zh5_t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t zh5_t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t zh5_t_std_u8le(void) { return H5T_STD_U8LE; }
static inline hid_t zh5_t_std_u16le(void) { return H5T_STD_U16LE; }
static inline hid_t zh5_t_std_u32le(void) { return H5T_STD_U32LE; }
static inline hid_t zh5_t_std_u64le(void) { return H5T_STD_U64LE; }
static inline hid_t zh5_t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t zh5_t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t zh5_t_c_s1(void) { return H5T_C_S1; }
static inline hid_t zh5_p_default(void) { return H5P_DEFAULT; }
static inline hid_t zh5_p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t zh5_p_dataset_access(void) { return H5P_DATASET_ACCESS; }
static inline hid_t zh5_p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t zh5_s_all(void) { return H5S_ALL; }
static inline unsigned zh5_f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned zh5_f_acc_excl(void) { return H5F_ACC_EXCL; }
static inline unsigned zh5_f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned zh5_f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline hsize_t zh5_s_unlimited(void) { return H5S_UNLIMITED; }
static inline size_t zh5_t_variable(void) { return H5T_VARIABLE; }
