# `cmake --install` layout (SPEC "Administration"; docs/deploy.md walks through it):
#   bin/                                  renderq-fcgi, renderq-worker, renderqctl, renderq-render
#   lib/systemd/system, lib/sysusers.d,
#   lib/tmpfiles.d                        systemd/CMakeLists.txt
#   share/renderq/sql                     the schema migrations (sql/CMakeLists.txt)
#   share/doc/renderq                     deploy.md, renderq.env.example
#   share/renderq/web, share/renderq/examples  the web console (web/) and the scenes it offers
#   /etc/nginx/sites-available            renderq.conf, the production nginx site
# The site's directory is absolute whatever the prefix: Debian's nginx reads only
# /etc/nginx (stage with DESTDIR=, which applies to it as to everything else).
#
# Included last from the top-level CMakeLists.txt, once every target exists.

foreach(program renderq-fcgi renderq-notify renderq-worker renderqctl renderq-render)
  if(TARGET ${program})
    install(TARGETS ${program} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

install(FILES ${PROJECT_SOURCE_DIR}/docs/deploy.md ${PROJECT_SOURCE_DIR}/docs/notifications.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# ---- The nginx site, rendered from the one template every layout uses.
set(RENDERQ_SERVER_NAME "_" CACHE STRING
  "nginx server_name of the renderq site (\"_\": any host name)")
set(RENDERQ_TLS_CERT /etc/ssl/certs/renderq.pem CACHE FILEPATH
  "TLS certificate chain (PEM) of the nginx site")
set(RENDERQ_TLS_KEY /etc/ssl/private/renderq.key CACHE FILEPATH
  "TLS private key (PEM) of the nginx site")
set(RENDERQ_SUBMIT_RATE 10r/s CACHE STRING "Sustained submits per client address (limit_req)")
set(RENDERQ_SUBMIT_BURST 20 CACHE STRING "Submits per client address let through at once")
set(RENDERQ_NGINX_SITE_DIR /etc/nginx/sites-available CACHE PATH
  "Where the nginx site is installed")

find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(renderq_site_values
  LISTEN_ADDR=*
  HTTPS_PORT=443
  HTTP_PORT=80
  SERVER_NAME=${RENDERQ_SERVER_NAME}
  TLS_CERT=${RENDERQ_TLS_CERT}
  TLS_KEY=${RENDERQ_TLS_KEY}
  FCGI_SOCKET=${RENDERQ_FCGI_SOCKET}
  RESULTS_DIR=${RENDERQ_STATE_DIR}/results
  ACCESS_LOG=/var/log/nginx/renderq.access.log
  ERROR_LOG=/var/log/nginx/renderq.error.log
  SUBMIT_RATE=${RENDERQ_SUBMIT_RATE}
  SUBMIT_BURST=${RENDERQ_SUBMIT_BURST}
  WEB_ROOT=${CMAKE_INSTALL_FULL_DATADIR}/renderq/web
  EXAMPLES_DIR=${CMAKE_INSTALL_FULL_DATADIR}/renderq/examples
  NCHAN_SOCKET=${RENDERQ_NCHAN_SOCKET}
  NOTIFY_SOCKET=${RENDERQ_NOTIFY_SOCKET})
set(renderq_site ${PROJECT_BINARY_DIR}/deploy/renderq.conf)
# Rendered at install time by nginx/render_conf.py, which refuses a placeholder
# without a value or a value without a placeholder.
list(JOIN renderq_site_values "]==] [==[" renderq_site_args)
install(CODE "
  file(MAKE_DIRECTORY [==[${PROJECT_BINARY_DIR}/deploy]==])
  execute_process(
    COMMAND [==[${Python3_EXECUTABLE}]==] [==[${PROJECT_SOURCE_DIR}/nginx/render_conf.py]==] site
            [==[${PROJECT_SOURCE_DIR}/nginx/renderq.conf.in]==] [==[${renderq_site}]==]
            [==[${renderq_site_args}]==]
    COMMAND_ERROR_IS_FATAL ANY)
")
install(FILES ${renderq_site} DESTINATION ${RENDERQ_NGINX_SITE_DIR})

# ---- The web console: static files as they are in web/ (no build step), and the
# example scenes its submit form offers; the nginx site serves both.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/renderq/web)
install(FILES ${PROJECT_SOURCE_DIR}/examples/cornell_box.json ${PROJECT_SOURCE_DIR}/examples/spheres.json
              ${PROJECT_SOURCE_DIR}/examples/mesh.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/renderq/examples)

# ---- Job kinds (SPEC "Your own GPU program: job kinds"; docs/kinds.md):
#   RENDERQ_PYTHON_DIR (/usr/lib/python3/dist-packages)  renderq_runner.py, for Debian's python3
#   share/renderq/runners                                the shipped runners ({runners_dir})
#   RENDERQ_KINDS_INSTALL_DIR (/etc/renderq/kinds.d)     the shipped kind files, each only
#                                                        where none of that name exists yet
#   share/doc/renderq/kinds.d, .../examples/kinds.d      the shipped kind files as shipped,
#                                                        and the ones left disabled (Blender)
# Kind files are the operator's configuration: a reinstall never overwrites one
# (like a Debian conffile, without the prompt); compare with the pristine copy.
set(RENDERQ_PYTHON_DIR /usr/lib/python3/dist-packages CACHE PATH
  "Where renderq_runner.py is installed: a directory on Debian's python3 sys.path")
# RENDERQ_KINDS_INSTALL_DIR and RENDERQ_RUNNERS_INSTALL_DIR: the top-level
# CMakeLists.txt (the programs are built with them as their defaults).

install(FILES ${PROJECT_SOURCE_DIR}/runners/python/renderq_runner.py
        DESTINATION ${RENDERQ_PYTHON_DIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runners/
        DESTINATION ${RENDERQ_RUNNERS_INSTALL_DIR}
        PATTERN __pycache__ EXCLUDE
        PATTERN python EXCLUDE)  # the helper is installed for python3 above
file(GLOB renderq_shipped_kinds ${PROJECT_SOURCE_DIR}/kinds.d/*.json)
file(GLOB renderq_example_kinds ${PROJECT_SOURCE_DIR}/examples/kinds.d/*.json)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/kinds.d)
install(FILES ${renderq_shipped_kinds} DESTINATION ${CMAKE_INSTALL_DOCDIR}/kinds.d)
install(FILES ${renderq_example_kinds} DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/kinds.d)
install(FILES ${PROJECT_SOURCE_DIR}/docs/kinds.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(CODE "
  set(renderq_kinds [==[${renderq_shipped_kinds}]==])
  foreach(kind IN LISTS renderq_kinds)
    get_filename_component(name \"\${kind}\" NAME)
    if(EXISTS \"\$ENV{DESTDIR}${RENDERQ_KINDS_INSTALL_DIR}/\${name}\")
      message(STATUS \"Kept: ${RENDERQ_KINDS_INSTALL_DIR}/\${name} (the shipped one is in the docs' kinds.d)\")
    else()
      file(INSTALL DESTINATION [==[${RENDERQ_KINDS_INSTALL_DIR}]==] TYPE FILE FILES \"\${kind}\")
    endif()
  endforeach()
")
