package config

import "reflect"

// Equal reports whether two config sections hold the same settings, as a
// reload needs to know ("mail.* changes take effect on restart"). It
// compares deeply, so sections may hold slices and maps; an empty list
// and an absent one are the same setting.
func Equal[T any](a, b T) bool {
	return reflect.DeepEqual(normalised(reflect.ValueOf(&a).Elem()), normalised(reflect.ValueOf(&b).Elem()))
}

// normalised returns a copy of v in which every empty slice or map is
// nil, so that "deliver_to: []" and no deliver_to compare equal.
func normalised(v reflect.Value) any {
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	normalise(c)
	return c.Interface()
}

func normalise(v reflect.Value) {
	switch v.Kind() {
	case reflect.Slice:
		if v.Len() == 0 {
			if v.CanSet() {
				v.Set(reflect.Zero(v.Type()))
			}
			return
		}
		// A copy: the caller's slice stays as it is.
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		for i := range cp.Len() {
			normalise(cp.Index(i))
		}
		if v.CanSet() {
			v.Set(cp)
		}
	case reflect.Map:
		if v.Len() == 0 && v.CanSet() {
			v.Set(reflect.Zero(v.Type()))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				normalise(f)
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			normalise(v.Elem())
		}
	}
}
