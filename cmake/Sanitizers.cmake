# -DDATAFOLD_SANITIZE=address,undefined  or  -DDATAFOLD_SANITIZE=thread
if(DATAFOLD_SANITIZE)
  add_compile_options(-fsanitize=${DATAFOLD_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${DATAFOLD_SANITIZE})
endif()
