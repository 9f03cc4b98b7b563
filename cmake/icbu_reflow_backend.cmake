# cmake/icbu_reflow_backend.cmake - finds the hash back end's library for icbu_reflow.
#
#   icbu_reflow_find_backend(<mbedtls|psa|bearssl|custom>
#                            [ROUTE <route> WHERE <place>... VERSION <v> WHAT <line>])
#
# Defines the imported target icbu_reflow::backend (what the implementation links),
# and sets in the caller's scope:
#   ICBU_REFLOW_BACKEND_LIBS    the link flags for a .pc file ("-L<dir> -l<name>", or "-l<name>")
#   ICBU_REFLOW_BACKEND_CFLAGS  its -I for a .pc file, where it is not the compiler's own
#   ICBU_REFLOW_BACKEND_ROUTE   how it was found: target, package, pkg-config or files
#   ICBU_REFLOW_BACKEND_WHERE   where: the target's name, the package's directory, the .pc
#                               file's directory, or the library's and the include directory
#   ICBU_REFLOW_BACKEND_VERSION mbedTLS's version ("" for BearSSL and custom)
#   ICBU_REFLOW_BACKEND_WHAT    a line for people ("mbedTLS 3.6.6 (CMake package)")
# The build calls it without ROUTE. The installed icbu_reflowConfig.cmake passes the four
# the build set, to get the back end the library was compiled against: the same route
# only, the recorded places first (before CMAKE_PREFIX_PATH and the system's), then the
# default search; an mbedTLS of another version stops the configure step (their APIs and
# structures differ, so the library would not link, or would mix two versions).
# mbedTLS (and PSA over it): the crypto target of an mbedTLS the project builds itself
# (add_subdirectory/FetchContent of 3.x, or of 4.x's TF-PSA-Crypto), else its CMake package
# where there is one (3.x, 4.x), else pkg-config (mbedcrypto.pc), else
# find_path/find_library (Debian's 2.28 has neither).
# 4.x's crypto library is tfpsacrypto; its MD5/SHA-256 API is gone, so "mbedtls" there is
# an error that names "psa". BearSSL: find_path/find_library. custom: nothing to find,
# the application links its own icbu_custom_hash_* functions.
# Used by CMakeLists.txt and by the installed icbu_reflowConfig.cmake alike. With ROUTE
# target (the build linked its parent's own mbedTLS target), the consumer must have a
# target of that name, of the same version, before find_package(icbu_reflow).

function(_icbu_reflow_version_from_header incdir out)
  set(_v "")
  if(EXISTS "${incdir}/mbedtls/build_info.h")
    file(STRINGS "${incdir}/mbedtls/build_info.h" _l REGEX "^#define[ \t]+MBEDTLS_VERSION_STRING[ \t]")
  endif()
  if(NOT _l AND EXISTS "${incdir}/mbedtls/version.h")
    file(STRINGS "${incdir}/mbedtls/version.h" _l REGEX "^#define[ \t]+MBEDTLS_VERSION_STRING[ \t]")
  endif()
  if(_l MATCHES "\"([0-9.]+)\"")
    set(_v "${CMAKE_MATCH_1}")
  endif()
  set(${out} "${_v}" PARENT_SCOPE)
endfunction()

# "-I<dir>..." for include directories that are not the compiler's own.
function(_icbu_reflow_include_flags dirs out)
  set(_flags "")
  foreach(_d ${dirs})
    list(FIND CMAKE_C_IMPLICIT_INCLUDE_DIRECTORIES "${_d}" _implicit)
    if(_implicit EQUAL -1 AND NOT _d MATCHES "^\\$<")
      string(APPEND _flags " -I${_d}")
    endif()
  endforeach()
  string(STRIP "${_flags}" _flags)
  set(${out} "${_flags}" PARENT_SCOPE)
endfunction()

# "-L<dir> -l<name>" for a library file (no -L for the compiler's own directories).
function(_icbu_reflow_link_flags file out)
  get_filename_component(_dir "${file}" DIRECTORY)
  get_filename_component(_name "${file}" NAME_WE)
  string(REGEX REPLACE "^lib" "" _name "${_name}")
  set(_flags "-l${_name}")
  list(FIND CMAKE_C_IMPLICIT_LINK_DIRECTORIES "${_dir}" _implicit)
  if(_implicit EQUAL -1)
    set(_flags "-L${_dir} ${_flags}")
  endif()
  set(${out} "${_flags}" PARENT_SCOPE)
endfunction()

# A back end found as a library file and an include directory: the target's
# properties, and _libs, _incs, _route, _where in the caller's scope.
macro(_icbu_reflow_use_files lib incdir)
  set_property(TARGET icbu_reflow::backend PROPERTY INTERFACE_LINK_LIBRARIES "${lib}")
  set_property(TARGET icbu_reflow::backend PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${incdir}")
  _icbu_reflow_link_flags("${lib}" _libs)
  set(_incs "${incdir}")
  set(_route files)
  get_filename_component(_where "${lib}" DIRECTORY)
  list(APPEND _where "${incdir}")
endmacro()

# find_path (PATH) or find_library (LIBRARY) into <var>: with places, there alone first
# (ahead of CMAKE_PREFIX_PATH, which would win over HINTS), then CMake's default search.
macro(_icbu_reflow_find kind var places)
  if("${kind}" STREQUAL "PATH")
    if(NOT "${places}" STREQUAL "")
      find_path(${var} ${ARGN} PATHS ${places} NO_DEFAULT_PATH)
    endif()
    find_path(${var} ${ARGN})
  else()
    if(NOT "${places}" STREQUAL "")
      find_library(${var} ${ARGN} PATHS ${places} NO_DEFAULT_PATH)
    endif()
    find_library(${var} ${ARGN})
  endif()
endmacro()

function(icbu_reflow_find_backend crypto)
  cmake_parse_arguments(_a "" "ROUTE;VERSION;WHAT" "WHERE" ${ARGN})
  if(NOT crypto MATCHES "^(mbedtls|psa|bearssl|custom)$")
    message(FATAL_ERROR "icbu_reflow: ICBU_REFLOW_CRYPTO is '${crypto}'; it must be mbedtls, psa, bearssl or custom")
  endif()
  if(NOT TARGET icbu_reflow::backend)
    add_library(icbu_reflow::backend INTERFACE IMPORTED)
  endif()
  set(_libs "")
  set(_incs "")
  set(_route "")
  set(_where "")
  set(_version "")
  set(_what "")
  if(crypto STREQUAL "custom")
    set(_what "custom: the application's icbu_custom_hash_init/update/final")
  elseif(crypto STREQUAL "bearssl")
    _icbu_reflow_find(PATH ICBU_REFLOW_BEARSSL_INCLUDE_DIR "${_a_WHERE}" bearssl.h)
    _icbu_reflow_find(LIBRARY ICBU_REFLOW_BEARSSL_LIBRARY "${_a_WHERE}" bearssl)
    if(NOT ICBU_REFLOW_BEARSSL_INCLUDE_DIR OR NOT ICBU_REFLOW_BEARSSL_LIBRARY)
      if(_a_ROUTE)
        set(_built " (icbu_reflow was built against ${_a_WHAT})")
      endif()
      message(FATAL_ERROR "icbu_reflow: BearSSL not found (bearssl.h, libbearssl)${_built}: "
                          "install it (Debian: apt-get install libbearssl-dev) or set "
                          "CMAKE_PREFIX_PATH")
    endif()
    _icbu_reflow_use_files("${ICBU_REFLOW_BEARSSL_LIBRARY}" "${ICBU_REFLOW_BEARSSL_INCLUDE_DIR}")
    set(_what "BearSSL (${ICBU_REFLOW_BEARSSL_LIBRARY})")
  else()
    # 1. a crypto target the project builds (not imported: an installed package's are);
    # the installed package's: the consumer's target of the recorded name, imported or not
    set(_own "")
    if("${_a_ROUTE}" STREQUAL "target")
      if(NOT TARGET ${_a_WHERE})
        message(FATAL_ERROR "icbu_reflow was built against ${_a_WHAT}: bring in mbedTLS "
                            "${_a_VERSION} as the target ${_a_WHERE} (add_subdirectory of its "
                            "sources, or find_package(MbedTLS)) before find_package(icbu_reflow)")
      endif()
      set(_own ${_a_WHERE})
    elseif(NOT _a_ROUTE)
      foreach(_t TF-PSA-Crypto::tfpsacrypto MbedTLS::tfpsacrypto MbedTLS::mbedcrypto
                 tfpsacrypto mbedcrypto)
        if(NOT _own AND TARGET ${_t})
          get_target_property(_imported ${_t} IMPORTED)
          if(NOT _imported)
            set(_own ${_t})
          endif()
        endif()
      endforeach()
    endif()
    if(_own)
      set_property(TARGET icbu_reflow::backend PROPERTY INTERFACE_LINK_LIBRARIES ${_own})
      set(_route target)
      set(_where ${_own})
      if(_own MATCHES "tfpsacrypto$")
        set(_version 4.0)                           # TF-PSA-Crypto: mbedTLS 4.x's crypto
        set(_what "mbedTLS 4.x's TF-PSA-Crypto (the project's target ${_own})")
        set(_libs "-ltfpsacrypto")
      else()
        # the version from its headers, in the target's build include directories
        get_target_property(_dirs ${_own} INTERFACE_INCLUDE_DIRECTORIES)
        foreach(_d ${_dirs})
          string(REGEX REPLACE "^\\$<BUILD_INTERFACE:(.*)>$" "\\1" _d "${_d}")
          if(NOT _version AND NOT _d MATCHES "^\\$<")
            _icbu_reflow_version_from_header("${_d}" _version)
          endif()
        endforeach()
        set(_what "mbedTLS ${_version} (the project's target ${_own})")
        set(_libs "-lmbedcrypto")
      endif()
    endif()
    # 2. mbedTLS's own CMake package (3.x, 4.x)
    if(NOT _route AND "${_a_ROUTE}" MATCHES "^(|package)$")
      if(_a_ROUTE)
        # its directory, the recorded one first
        find_package(MbedTLS CONFIG QUIET PATHS "${_a_WHERE}" NO_DEFAULT_PATH)
      endif()
      if(NOT MbedTLS_FOUND)
        find_package(MbedTLS CONFIG QUIET)
      endif()
      if(MbedTLS_FOUND AND (TARGET MbedTLS::tfpsacrypto OR TARGET MbedTLS::mbedcrypto))
        if(TARGET MbedTLS::tfpsacrypto)
          set(_t MbedTLS::tfpsacrypto)
        else()
          set(_t MbedTLS::mbedcrypto)
        endif()
        set(_version "${MbedTLS_VERSION}")
        set_property(TARGET icbu_reflow::backend PROPERTY INTERFACE_LINK_LIBRARIES ${_t})
        foreach(_cfg IMPORTED_LOCATION_RELEASE IMPORTED_LOCATION_NOCONFIG IMPORTED_LOCATION
                     IMPORTED_LOCATION_RELWITHDEBINFO IMPORTED_LOCATION_DEBUG)
          get_target_property(_loc ${_t} ${_cfg})
          if(_loc)
            _icbu_reflow_link_flags("${_loc}" _libs)
            break()
          endif()
        endforeach()
        get_target_property(_incs ${_t} INTERFACE_INCLUDE_DIRECTORIES)
        set(_route package)
        set(_where "${MbedTLS_DIR}")
        set(_what "mbedTLS ${_version} (its CMake package, ${MbedTLS_DIR})")
      endif()
    endif()
    # 3. pkg-config
    if(NOT _route AND "${_a_ROUTE}" MATCHES "^(|pkg-config)$")
      find_package(PkgConfig QUIET)
      if(PKG_CONFIG_FOUND AND _a_ROUTE)
        # the recorded .pc directory alone first: pkg-config's own and CMake's paths out
        foreach(_e PKG_CONFIG_PATH PKG_CONFIG_LIBDIR)
          if(DEFINED ENV{${_e}})
            set(_env_${_e} "$ENV{${_e}}")
          endif()
          set(ENV{${_e}} "${_a_WHERE}")
        endforeach()
        pkg_search_module(ICBU_REFLOW_PC_MBEDCRYPTO QUIET IMPORTED_TARGET NO_CMAKE_PATH
                          NO_CMAKE_ENVIRONMENT_PATH tfpsacrypto mbedcrypto)
        foreach(_e PKG_CONFIG_PATH PKG_CONFIG_LIBDIR)
          if(DEFINED _env_${_e})
            set(ENV{${_e}} "${_env_${_e}}")
          else()
            unset(ENV{${_e}})
          endif()
        endforeach()
        set(_where "${_a_WHERE}")
      endif()
      if(PKG_CONFIG_FOUND AND NOT ICBU_REFLOW_PC_MBEDCRYPTO_FOUND)
        pkg_search_module(ICBU_REFLOW_PC_MBEDCRYPTO QUIET IMPORTED_TARGET tfpsacrypto mbedcrypto)
        if(ICBU_REFLOW_PC_MBEDCRYPTO_FOUND)
          pkg_get_variable(_where "${ICBU_REFLOW_PC_MBEDCRYPTO_MODULE_NAME}" pcfiledir)
        endif()
      endif()
      if(ICBU_REFLOW_PC_MBEDCRYPTO_FOUND)
        # mbedTLS's version is in its headers: tfpsacrypto.pc's Version is TF-PSA-Crypto's (1.x)
        _icbu_reflow_version_from_header("${ICBU_REFLOW_PC_MBEDCRYPTO_INCLUDEDIR}" _version)
        if(NOT _version)
          set(_version "${ICBU_REFLOW_PC_MBEDCRYPTO_VERSION}")
        endif()
        set_property(TARGET icbu_reflow::backend PROPERTY INTERFACE_LINK_LIBRARIES PkgConfig::ICBU_REFLOW_PC_MBEDCRYPTO)
        string(REPLACE ";" " " _libs "${ICBU_REFLOW_PC_MBEDCRYPTO_LDFLAGS}")
        set(_incs "${ICBU_REFLOW_PC_MBEDCRYPTO_INCLUDE_DIRS}")
        set(_route pkg-config)
        set(_what "mbedTLS ${_version} (pkg-config)")
      endif()
    endif()
    # 4. the plain headers and library
    if(NOT _route AND "${_a_ROUTE}" MATCHES "^(|files)$")
      _icbu_reflow_find(PATH ICBU_REFLOW_MBEDTLS_INCLUDE_DIR "${_a_WHERE}" mbedtls/version.h)
      _icbu_reflow_find(LIBRARY ICBU_REFLOW_MBEDCRYPTO_LIBRARY "${_a_WHERE}"
                        NAMES tfpsacrypto mbedcrypto)
      if(ICBU_REFLOW_MBEDTLS_INCLUDE_DIR AND ICBU_REFLOW_MBEDCRYPTO_LIBRARY)
        _icbu_reflow_version_from_header("${ICBU_REFLOW_MBEDTLS_INCLUDE_DIR}" _version)
        _icbu_reflow_use_files("${ICBU_REFLOW_MBEDCRYPTO_LIBRARY}" "${ICBU_REFLOW_MBEDTLS_INCLUDE_DIR}")
        set(_what "mbedTLS ${_version} (${ICBU_REFLOW_MBEDCRYPTO_LIBRARY})")
      endif()
    endif()
    if(NOT _route AND _a_ROUTE)
      message(FATAL_ERROR "icbu_reflow was built against ${_a_WHAT}; found the same way "
                          "(${_a_ROUTE}), no mbedTLS is there now: install mbedTLS ${_a_VERSION} "
                          "again, or set CMAKE_PREFIX_PATH to where it is installed")
    elseif(NOT _route)
      message(FATAL_ERROR "icbu_reflow: mbedTLS not found (mbedtls/version.h, libmbedcrypto or "
                          "libtfpsacrypto): install it (Debian: apt-get install libmbedtls-dev) or "
                          "set CMAKE_PREFIX_PATH to where it is installed")
    endif()
    if(_a_ROUTE AND NOT "${_version}" STREQUAL "${_a_VERSION}")
      message(FATAL_ERROR "icbu_reflow was built against ${_a_WHAT}; found ${_what} instead, "
                          "whose API and structures are not the same: install mbedTLS "
                          "${_a_VERSION} where it was, or rebuild icbu_reflow against this one")
    endif()
    if(crypto STREQUAL "mbedtls" AND _version VERSION_GREATER_EQUAL 4.0)
      message(FATAL_ERROR "icbu_reflow: ${_what} has no public MD5/SHA-256 API; "
                          "configure with -DICBU_REFLOW_CRYPTO=psa")
    endif()
  endif()
  _icbu_reflow_include_flags("${_incs}" _cflags)
  set(ICBU_REFLOW_BACKEND_LIBS "${_libs}" PARENT_SCOPE)
  set(ICBU_REFLOW_BACKEND_CFLAGS "${_cflags}" PARENT_SCOPE)
  set(ICBU_REFLOW_BACKEND_ROUTE "${_route}" PARENT_SCOPE)
  set(ICBU_REFLOW_BACKEND_WHERE "${_where}" PARENT_SCOPE)
  set(ICBU_REFLOW_BACKEND_VERSION "${_version}" PARENT_SCOPE)
  set(ICBU_REFLOW_BACKEND_WHAT "${_what}" PARENT_SCOPE)
endfunction()
