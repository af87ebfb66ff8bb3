# scripts/agent_sdk.cmake - builds twilio-taskrouter's browser bundle next to the agent page.
# The npm package's dist/index.window.js still require()s its dependencies (it is meant for
# bundlers), so esbuild bundles it with them into one script that defines the global TaskRouter.
# Nothing of it is in git: npm installs into CACHE (a folder of the build tree) when INSTALL is
# ON and something is missing; the result is OUT/twilio-taskrouter.js.
#   cmake -DCACHE=build/npm-cache/eb -DOUT=build/web/agent [-DINSTALL=ON] -P scripts/agent_sdk.cmake
set(SDK twilio-taskrouter@2.1.1)
set(ESBUILD_PKG esbuild@0.24)
set(ENTRY ${CACHE}/node_modules/twilio-taskrouter/dist/index.window.js)
set(ESBUILD ${CACHE}/node_modules/.bin/esbuild)
set(BUNDLE ${OUT}/twilio-taskrouter.js)
if((NOT EXISTS ${ENTRY} OR NOT EXISTS ${ESBUILD}) AND INSTALL)
  find_program(NPM npm REQUIRED)
  file(MAKE_DIRECTORY ${CACHE})
  if(NOT EXISTS ${CACHE}/package.json)
    file(WRITE ${CACHE}/package.json "{\"name\":\"swb-npm-cache\",\"private\":true}\n")
  endif()
  execute_process(COMMAND ${NPM} install --no-audit --no-fund ${SDK} ${ESBUILD_PKG}
                  WORKING_DIRECTORY ${CACHE} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "npm install ${SDK} ${ESBUILD_PKG} failed (${rc})")
  endif()
endif()
if(NOT EXISTS ${ENTRY} OR NOT EXISTS ${ESBUILD})
  if(INSTALL)
    message(FATAL_ERROR "no ${ENTRY} or ${ESBUILD} after npm install")
  endif()
  return() # not installed yet: the page says how to get it (make agent_sdk)
endif()
# The stamp says the bundle was made here from ENTRY (a copy from elsewhere has none).
if(NOT EXISTS ${BUNDLE} OR NOT EXISTS ${BUNDLE}.stamp OR ${ENTRY} IS_NEWER_THAN ${BUNDLE}.stamp)
  file(MAKE_DIRECTORY ${OUT})
  execute_process(COMMAND ${ESBUILD} ${ENTRY} --bundle --format=iife --global-name=TaskRouter --platform=browser
                          --define:global=window --minify --legal-comments=eof --log-level=warning
                          --outfile=${BUNDLE}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "esbuild could not bundle ${ENTRY} (${rc})")
  endif()
  file(WRITE ${BUNDLE}.stamp "${ENTRY}\n")
endif()
