// common.glsl — helpers every generated shader gets (gen_shaders.py pastes
// it after the variant's #defines): the storage-type macros, strided index
// helpers, and the float32 math functions whose accuracy the conformance
// suite checks.
//
// Vulkan guarantees correctly rounded +, -, * only (division 2.5 ULP, exp
// and log 3 ULP or worse, sqrt inherited from inversesqrt), so exp, tanh
// and erf are built here from those operations: range reduction plus
// polynomials, `precise` so that no compiler reassociates them.
// Coefficients: Taylor series for exp/expm1; least-squares fits for tanh
// and erf, made and error-checked by fit_math.py beside this file.

#ifdef VK_F16
#define STORE_T float16_t
#define LOADF(v) float(v)
#define STOREF(v) float16_t(v)
#else
#define STORE_T float
#define LOADF(v) (v)
#define STOREF(v) (v)
#endif

#define VK_INF uintBitsToFloat(0x7f800000u)
#define VK_NAN uintBitsToFloat(0x7fc00000u)

// 2^k * p for k in [-300, 300] without overflowing the scale factor.
float vk_scale2(float p, int k) {
  int h = k / 2;
  return ldexp(ldexp(p, h), k - h);
}

// x rounded to the nearest float16 value (ties to even), as a float: for
// the few places ATen rounds an intermediate to the float16 dtype.
float vk_round_half(float x) {
  float a = abs(x);
  if (isnan(x) || isinf(x)) return x;
  if (a >= 65520.0) return x < 0.0 ? -VK_INF : VK_INF;
  if (a < 6.103515625e-05) return roundEven(x * 16777216.0) / 16777216.0; /* subnormal */
  uint u = floatBitsToUint(x);
  return uintBitsToFloat((u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu);
}

// exp(x), below 1 ULP (fit_math.py: 0.93): x = k ln2 + r with ln2 in two
// parts (k * LN2_HI is exact for |k| < 256), exp(r) by its Taylor series
// to degree 8 (|r| <= 0.347).
float vk_exp(float x) {
  if (isnan(x)) return x;
  if (x > 88.72283935546875) return VK_INF;
  if (x < -103.97208404541016) return 0.0;
  float k = roundEven(x * 1.4426950408889634);
  precise float r = (x - k * 0.693145751953125) - k * 1.4286068203094172e-06;
  precise float q = 1.0 / 40320.0;
  q = q * r + 1.0 / 5040.0;
  q = q * r + 1.0 / 720.0;
  q = q * r + 1.0 / 120.0;
  q = q * r + 1.0 / 24.0;
  q = q * r + 1.0 / 6.0;
  q = q * r + 0.5;
  precise float p = 1.0 + (r + (r * r) * q);
  return vk_scale2(p, int(k));
}

// exp(x) - 1 on |x| < 0.347: its Taylor series to degree 10.
float vk_expm1_small(float x) {
  precise float q = 1.0 / 3628800.0;
  q = q * x + 1.0 / 362880.0;
  q = q * x + 1.0 / 40320.0;
  q = q * x + 1.0 / 5040.0;
  q = q * x + 1.0 / 720.0;
  q = q * x + 1.0 / 120.0;
  q = q * x + 1.0 / 24.0;
  q = q * x + 1.0 / 6.0;
  q = q * x + 0.5;
  precise float y = x + (x * x) * q;
  return y;
}

// exp(x) - 1 within 1 ULP: x = k ln2 + r as in vk_exp, then
// 2^k expm1(r) + (2^k - 1), both terms exact scalings or exact sums.
float vk_expm1(float x) {
  if (isnan(x) || x == 0.0) return x; /* keeps the sign of zero */
  if (abs(x) < 0.34657359) return vk_expm1_small(x);
  if (x < -17.5) return -1.0;
  if (x > 88.72283935546875) return VK_INF;
  float k = roundEven(x * 1.4426950408889634);
  if (k > 24.0) return vk_exp(x); /* the -1 is below half an ULP */
  precise float r = (x - k * 0.693145751953125) - k * 1.4286068203094172e-06;
  precise float e = vk_expm1_small(r);
  precise float y = ldexp(e, int(k)) + (ldexp(1.0, int(k)) - 1.0);
  return y;
}

// tanh(x), within 2 ULP: x + x^3 P(x^2) for |x| < 0.55 (0.76 ULP), else
// 1 - 2 / (exp(2|x|) + 1); +-1 beyond 9.1, where tanh rounds to 1.
float vk_tanh(float x) {
  if (isnan(x)) return x;
  float a = abs(x);
  if (a > 9.1) return x < 0.0 ? -1.0 : 1.0;
  if (a < 0.55) {
    precise float z = x * x;
    precise float q = -0.00100443896;
    q = q * z + 0.00344230304;
    q = q * z + -0.00884000957;
    q = q * z + 0.0218680892;
    q = q * z + -0.0539682694;
    q = q * z + 0.13333334;
    q = q * z + -0.333333343;
    precise float y = x + (x * z) * q;
    return y;
  }
  precise float e = vk_exp(2.0 * a);
  precise float t = 1.0 - 2.0 / (e + 1.0);
  return x < 0.0 ? -t : t;
}

// log(x), below 1 ULP (fit_math.py: 0.78): x = m 2^e with m in
// [sqrt(1/2), sqrt(2)), log(m) = f - f^2/2 + f^3 P(f) with f = m - 1, then
// e ln2 added in two parts.
float vk_log(float x) {
  if (isnan(x) || x < 0.0) return VK_NAN;
  if (x == 0.0) return -VK_INF;
  if (isinf(x)) return x;
  /* frexp from the bits, subnormals included (no float op sees them, so a
   * device that flushes denormals still gets them right) */
  uint u = floatBitsToUint(x), man = u & 0x7fffffu;
  int e = int(u >> 23) - 126;
  if ((u >> 23) == 0u) {
    int msb = findMSB(man);
    man = (man << uint(23 - msb)) & 0x7fffffu;
    e = msb - 148;
  }
  float m = uintBitsToFloat((126u << 23) | man);
  if (m < 0.70710678118654752) {
    m *= 2.0;
    e -= 1;
  }
  precise float f = m - 1.0;
  precise float f2 = f * f;
  precise float q = -0.0633769482;
  q = q * f + 0.106089436;
  q = q * f + -0.106285773;
  q = q * f + 0.110239543;
  q = q * f + -0.124512039;
  q = q * f + 0.142872855;
  q = q * f + -0.166680083;
  q = q * f + 0.199999973;
  q = q * f + -0.249999896;
  q = q * f + 0.333333343;
  precise float lm = f + (q * (f2 * f) - 0.5 * f2);
  float k = float(e);
  precise float y = k * 0.693145751953125 + (lm + k * 1.4286068203094172e-06);
  return y;
}

// erf(x), absolute error below 7e-8 (fit_math.py): t + t P(t^2) on
// [0, 1), 1 - erfc fits on [1, 2.5) and [2.5, 3.92), 1 beyond; odd.
float vk_erf(float x) {
  if (isnan(x) || x == 0.0) return x; /* keeps the sign of zero */
  float t = abs(x);
  precise float y;
  if (t < 1.0) {
    precise float z = t * t;
    precise float q = 7.93349391e-05;
    q = q * z + -0.00080348464;
    q = q * z + 0.00519121857;
    q = q * z + -0.0268553998;
    q = q * z + 0.112836257;
    q = q * z + -0.376126289;
    q = q * z + 0.128379166;
    y = t + t * q;
  } else if (t < 2.5) {
    precise float u = t - 1.75;
    precise float q = 0.000335376564;
    q = q * u + -0.000862275192;
    q = q * u + -0.000663912972;
    q = q * u + 0.00603674585;
    q = q * u + -0.00898207072;
    q = q * u + -0.00661847135;
    q = q * u + 0.048104696;
    q = q * u + -0.0901579037;
    q = q * u + 0.092356123;
    q = q * u + -0.0527749769;
    q = q * u + 0.0133283297;
    y = 1.0 - q;
  } else if (t < 3.92) {
    precise float u = t - 3.2;
    precise float q = 8.99418737e-05;
    q = q * u + -0.000231314421;
    q = q * u + 0.00033170759;
    q = q * u + -0.000392937451;
    q = q * u + 0.000375025556;
    q = q * u + -0.000262951333;
    q = q * u + 0.000129003805;
    q = q * u + -4.02498263e-05;
    q = q * u + 6.02514592e-06;
    y = 1.0 - q;
  } else {
    y = 1.0;
  }
  return x < 0.0 ? -y : y;
}
